"""Small lxml edits for converting BPMN files: namespaces, spiffworkflow properties, readable whitespace.

New elements are inserted with the indentation of their siblings, and a removed element leaves
no gap, so a converted file reads like the original in a text editor or a diff.
"""
from __future__ import annotations

from lxml import etree

from .camunda_catalog import ACTIVITY_ATTRIBUTES, INNER_ELEMENTS, SPIFF_NS, VENDOR_NAMESPACES
from .definitions import BPMN_NS, CF_NS


def element_id(element: etree._Element | None) -> str | None:
    return element.get("id") if element is not None else None


def element_name(element: etree._Element | None) -> str | None:
    name = element.get("name") if element is not None else None
    return " ".join(name.split()) or None if name else None


def bpmn_tag(local: str) -> str:
    return f"{{{BPMN_NS}}}{local}"


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def namespace_of(tag: str) -> str | None:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else None


def with_our_namespaces(root: etree._Element) -> etree._Element:
    """The root again, declaring the spiffworkflow and cf prefixes, so what we add is written with them."""
    nsmap = dict(root.nsmap)
    for prefix, uri in (("spiffworkflow", SPIFF_NS), ("cf", CF_NS)):
        if uri in nsmap.values():
            continue
        chosen, n = prefix, 1
        while chosen in nsmap:
            n += 1
            chosen = f"{prefix}{n}"
        nsmap[chosen] = uri
    if nsmap == dict(root.nsmap):
        return root
    new_root = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=nsmap)
    new_root.text = root.text
    for child in list(root):
        new_root.append(child)
    return new_root


def vendor_keys(element: etree._Element, local: str) -> list[str]:
    return [k for k in list(element.attrib) if namespace_of(k) in VENDOR_NAMESPACES
            and etree.QName(k).localname == local]


def vendor_children(element: etree._Element, local: str) -> list[etree._Element]:
    extension = element.find(bpmn_tag("extensionElements"))
    if extension is None:
        return []
    return [c for c in extension if isinstance(c.tag, str) and namespace_of(c.tag) in VENDOR_NAMESPACES
            and etree.QName(c).localname == local]


def spiff_child(element: etree._Element, local: str) -> etree._Element | None:
    extension = element.find(bpmn_tag("extensionElements"))
    return extension.find(f"{{{SPIFF_NS}}}{local}") if extension is not None else None


def spiff_extension(element: etree._Element, local: str) -> etree._Element:
    extension = element.find(bpmn_tag("extensionElements"))
    if extension is None:
        extension = new_element("extensionElements", None)
        position = sum(1 for c in element if isinstance(c.tag, str) and c.tag == bpmn_tag("documentation"))
        place(element, position, extension)
    created = etree.Element(f"{{{SPIFF_NS}}}{local}")
    place(extension, len(extension), created)
    return created


def spiff_property(element: etree._Element, name: str) -> str | None:
    properties = spiff_child(element, "properties")
    if properties is None:
        return None
    for prop in properties.findall(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def set_spiff_property(element: etree._Element, name: str, value: str) -> None:
    properties = spiff_child(element, "properties")
    if properties is None:
        properties = spiff_extension(element, "properties")
    prop = etree.Element(f"{{{SPIFF_NS}}}property")
    prop.set("name", name)
    prop.set("value", value)
    place(properties, len(properties), prop)


def new_element(local: str, text: str | None) -> etree._Element:
    created = etree.Element(bpmn_tag(local))
    created.text = text
    return created


def insert_in_order(parent: etree._Element, child: etree._Element, order: tuple[str, ...]) -> None:
    """Insert where BPMN's schema wants it: after every sibling that must come before it."""
    rank = order.index(local_name(child))
    position = 0
    for index, sibling in enumerate(parent):
        if isinstance(sibling.tag, str) and local_name(sibling) in order and order.index(local_name(sibling)) <= rank:
            position = index + 1
    place(parent, position, child)


def whitespace_or_empty(text: str | None) -> str:
    return text if text and not text.strip() and "\n" in text else ""


def place(parent: etree._Element, index: int, child: etree._Element) -> None:
    """Insert ``child`` with the indentation of its new siblings, so the converted file stays readable."""
    siblings = list(parent)
    if not siblings:
        outer = whitespace_or_empty(whitespace_before(parent)).rsplit("\n", 1)[-1]
        parent.text = "\n" + outer + "  "
        parent.append(child)
        child.tail = "\n" + outer
    elif index < len(siblings):
        before = parent.text if index == 0 else siblings[index - 1].tail
        parent.insert(index, child)
        child.tail = before
    else:
        last = siblings[-1]
        closing, last.tail = last.tail, parent.text
        parent.append(child)
        child.tail = closing
    pretty(child, whitespace_or_empty(whitespace_before(child)).rsplit("\n", 1)[-1])


def whitespace_before(element: etree._Element) -> str | None:
    previous = element.getprevious()
    if previous is not None:
        return previous.tail
    parent = element.getparent()
    return parent.text if parent is not None else None


def pretty(element: etree._Element, indent: str) -> None:
    children = list(element)
    if not children:
        return
    element.text = "\n" + indent + "  "
    for child in children:
        child.tail = "\n" + indent + "  "
        pretty(child, indent + "  ")
    children[-1].tail = "\n" + indent


def remove(element: etree._Element) -> None:
    """Remove ``element``; what followed it takes its place, whitespace included."""
    parent = element.getparent()
    if parent is None:
        return
    previous = element.getprevious()
    if previous is not None:
        previous.tail = element.tail
    else:
        parent.text = element.tail
    parent.remove(element)


def owning_element(element: etree._Element) -> etree._Element:
    """The nearest element with an id that is not a part of another: the element a finding is about."""
    current = element
    while current is not None and (not current.get("id") or namespace_of(current.tag) != BPMN_NS
                                   or local_name(current) in INNER_ELEMENTS):
        current = current.getparent()
    return current if current is not None else element


def has_message(task: etree._Element) -> bool:
    return task.find(bpmn_tag("messageEventDefinition")) is not None


def replace_with_noop_script(task: etree._Element, lines: list[str]) -> None:
    """Swap ``task`` for a script task with the same id and flows whose script only comments on it."""
    script_task = etree.Element(bpmn_tag("scriptTask"))
    for key in ACTIVITY_ATTRIBUTES:
        if task.get(key) is not None:
            script_task.set(key, task.get(key))
    script_task.set("scriptFormat", "python")
    script_task.text = task.text
    for child in list(task):
        if isinstance(child.tag, str) and child.tag in (bpmn_tag("script"), bpmn_tag("messageEventDefinition")):
            continue
        script_task.append(child)
    script = new_element("script", "\n".join("# " + line.replace("\r", "") for line in lines) + "\npass")
    place(script_task, len(script_task), script)
    script_task.tail = task.tail
    task.getparent().replace(task, script_task)
