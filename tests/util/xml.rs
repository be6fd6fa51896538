//! A small reader for Monit's XML documents (the status document and the
//! collector's messages): a tree of elements and every element's path in
//! document order, which the comparisons with Monit's own documents read.

/// An element of the status document.
#[derive(Debug, Default)]
pub struct Elem {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Elem>,
}

/// A small reader for the status document: tags, attributes in double
/// quotes, text, CDATA, the declaration; enough for Monit's XML.
pub fn parse_xml(doc: &str) -> Option<Elem> {
    let mut stack: Vec<Elem> = vec![Elem::default()];
    let mut rest = doc;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("<![CDATA[") {
            let end = r.find("]]>")?;
            stack.last_mut()?.text.push_str(&r[..end]);
            rest = &r[end + 3..];
        } else if let Some(r) = rest.strip_prefix("<?") {
            rest = &r[r.find("?>")? + 2..];
        } else if let Some(r) = rest.strip_prefix("</") {
            let end = r.find('>')?;
            let done = stack.pop()?;
            if done.name != r[..end].trim() {
                return None;
            }
            stack.last_mut()?.children.push(done);
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('<') {
            let end = r.find('>')?;
            let (tag, empty) = match r[..end].strip_suffix('/') {
                Some(t) => (t, true),
                None => (&r[..end], false),
            };
            let (name, mut attrs_text) = tag.split_once(' ').unwrap_or((tag, ""));
            let mut e = Elem {
                name: name.to_string(),
                ..Elem::default()
            };
            while let Some((key, after)) = attrs_text.split_once("=\"") {
                let (value, next) = after.split_once('"')?;
                e.attrs.push((key.trim().to_string(), value.to_string()));
                attrs_text = next;
            }
            if empty {
                stack.last_mut()?.children.push(e);
            } else {
                stack.push(e);
            }
            rest = &r[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = rest[..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            stack.last_mut()?.text.push_str(&text);
            rest = &rest[end..];
        }
    }
    let mut root = stack.pop()?;
    (stack.is_empty() && root.children.len() == 1).then(|| root.children.remove(0))
}

/// Every element's path in document order (`monit/service[type=3]/pid`,
/// attributes other than a service's type as `[@name=value]`), with its
/// text.
pub fn paths(e: &Elem, parent: &str, out: &mut Vec<(String, String)>) {
    let mut step = e.name.clone();
    for (k, v) in &e.attrs {
        if e.name == "service" && k == "type" {
            step = format!("service[type={v}]");
        } else {
            step.push_str(&format!("[@{k}={v}]"));
        }
    }
    let path = if parent.is_empty() {
        step
    } else {
        format!("{parent}/{step}")
    };
    out.push((path.clone(), e.text.clone()));
    for c in &e.children {
        paths(c, &path, out);
    }
}

/// The paths of a document; none when it is not one.
pub fn xml_paths(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(root) = parse_xml(doc) {
        paths(&root, "", &mut out);
    }
    out
}
