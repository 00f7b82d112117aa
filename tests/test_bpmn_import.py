"""Every diagram in processes/ opens in bpmn-js (our vendored copy) without warnings, with layout for all."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tests.browser import browser  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
VIEWER = ROOT / "webapp" / "static" / "vendor" / "bpmn-js" / "bpmn-navigated-viewer.production.min.js"
DIAGRAMS = sorted((ROOT / "processes").glob("*.bpmn"))
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
# Elements that are drawn: everything in a process or collaboration that has a shape or an edge in a modeler.
DRAWN = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
         "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
         "receiveTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
         "inclusiveGateway", "eventBasedGateway", "sequenceFlow", "lane", "participant", "messageFlow",
         "dataObjectReference", "dataStoreReference", "textAnnotation", "association"}

IMPORT = """async (xml) => {
    const viewer = new BpmnJS({ container: '#canvas' });
    try {
        const result = await viewer.importXML(xml);
        return { warnings: result.warnings.map(w => w.message), error: null,
                 shown: viewer.get('elementRegistry').getAll().map(e => e.id) };
    } catch (err) {
        return { warnings: (err.warnings || []).map(w => w.message), error: String(err), shown: [] };
    }
}"""


def drawn_ids(path: Path) -> set[str]:
    root = etree.parse(str(path)).getroot()
    return {el.get("id") for el in root.iter() if isinstance(el.tag, str)
            and etree.QName(el).namespace == BPMN and etree.QName(el).localname in DRAWN}


def test_processes_has_diagrams() -> None:
    assert DIAGRAMS, "processes/ holds no .bpmn file"


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def test_diagram_imports_without_warnings(browser, path: Path) -> None:  # noqa: ANN001, F811
    page = browser.new_page()
    try:
        page.set_content('<div id="canvas" style="width:1600px;height:900px"></div>')
        page.add_script_tag(path=str(VIEWER))
        result = page.evaluate(IMPORT, path.read_text(encoding="utf-8"))
    finally:
        page.close()
    assert result["error"] is None, result
    assert result["warnings"] == []
    root = etree.parse(str(path)).getroot()
    with_layout = {el.get("bpmnElement") for el in root.iter(f"{{{DI}}}BPMNShape", f"{{{DI}}}BPMNEdge")}
    assert drawn_ids(path) - with_layout == set(), "elements without diagram layout"
    assert drawn_ids(path) <= set(result["shown"]), "elements bpmn-js did not draw"
