"""The PII engine itself, real models (Presidio, spaCy's small English pipeline, lingua): planted
personal data of every kind and language is removed, PII-free controls come out unchanged,
placeholders are consistent within a conversation, and the import stays cheap."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

import pytest

from privacy import Entity, Pseudonyms, Redaction, get_engine
from privacy.planted import generate
from privacy.types import KINDS, LANGUAGES

PAIRS = generate("dev", 220)


@pytest.fixture(scope="module")
def engine():
    return get_engine().warm_up()


def _by_language_and_kind():
    cases = defaultdict(list)
    for message, truth in PAIRS:
        for e in truth["entities"]:
            cases[(truth["lang"], e["kind"])].append((message["text"], e))
    return cases


def test_the_planted_set_covers_every_kind_in_every_language():
    cases = _by_language_and_kind()
    missing = [(lang, kind) for lang in LANGUAGES for kind in KINDS if kind != "PIN" and not cases[(lang, kind)]]
    assert not missing, missing


@pytest.mark.parametrize("lang", LANGUAGES)
def test_planted_personal_data_of_every_kind_is_removed(engine, lang):
    leaks = []
    for (case_lang, kind), cases in _by_language_and_kind().items():
        if case_lang != lang:
            continue
        for text, e in cases:
            value = text[e["start"]:e["end"]]
            redacted = engine.redact(text)
            if value in redacted.text or not any(x.start <= e["start"] < x.end for x in redacted.entities):
                leaks.append((kind, value, redacted.text))
    assert not leaks, leaks


def test_pii_free_controls_are_unchanged(engine):
    controls = [m["text"] for m, t in PAIRS if t["control"]]
    assert len(controls) >= 30
    changed = [(t, engine.redact(t).text) for t in controls if engine.redact(t).text != t]
    assert not changed, changed


def test_placeholders_are_consistent_within_a_conversation(engine):
    turns = ["Hi, my name is Maria Schmidt, my email is maria.s@example.com.",
             "Thanks Maria, I'll write to maria.s@example.com. Who else may call?",
             "My husband, his name is Jonas Weber.",
             "Noted: Maria and Jonas Weber."]
    out = [r.text for r in engine.redact_many(turns)]
    assert out == ["Hi, my name is [NAME], my email is [EMAIL].",
                   "Thanks [NAME], I'll write to [EMAIL]. Who else may call?",
                   "My husband, his name is [NAME_2].",
                   "Noted: [NAME] and [NAME_2]."]
    # a fresh conversation starts numbering again
    assert engine.redact("This is Jonas Weber.").text == "This is [NAME]."


def test_mixed_languages_in_one_conversation(engine):
    out = engine.redact_many(["Bonjour, je m'appelle Claire Dubois.", "我叫王秀英，手机 138-1234-5678。",
                              "Meine IBAN ist DE89 3704 0044 0532 0130 00."])
    assert [r.text for r in out] == ["Bonjour, je m'appelle [NAME].", "我叫[NAME_2]，手机 [PHONE]。",
                                     "Meine IBAN ist [IBAN]."]
    assert engine.detect_language("Ich habe meine Karte verloren") == "de"
    assert engine.detect_language("我的卡丢了") == "zh"


def test_checksums_decide_numbers(engine):
    assert [e.kind for e in engine.analyze("身份证 11010519491231002X")] == ["NATIONAL_ID"]
    # wrong check character: not an id (still a long bare number, so still removed, as ACCOUNT)
    assert [e.kind for e in engine.analyze("身份证 110105194912310021")] == ["ACCOUNT"]
    assert [e.kind for e in engine.analyze("card 4111 1111 1111 1111")] == ["CARD"]
    assert engine.analyze("card 4111 1111 1111 1112") == []  # fails Luhn
    assert [e.kind for e in engine.analyze("DNI 12345678Z")] == ["NATIONAL_ID"]


def test_entities_index_the_original_text(engine):
    text = "Call +44 20 7946 0958 or mail a.b@example.org"
    r = engine.redact(text)
    assert isinstance(r, Redaction) and all(isinstance(e, Entity) for e in r.entities)
    assert [text[e.start:e.end] for e in r.entities] == ["+44 20 7946 0958", "a.b@example.org"]
    assert r.text == "Call [PHONE] or mail [EMAIL]" and r.counts() == {"PHONE": 1, "EMAIL": 1}
    assert engine.contains_pii(text) and not engine.contains_pii("Where is my parcel?")
    assert engine.redact("").text == "" and engine.analyze("   ") == []


def test_pseudonyms_can_be_shared_by_the_caller(engine):
    p = Pseudonyms()
    assert engine.redact("my name is Ada Lovelace", pseudonyms=p).text == "my name is [NAME]"
    assert engine.redact("Lovelace again", pseudonyms=p).text == "[NAME] again"


def test_importing_the_package_loads_no_model():
    code = ("import sys, privacy; from privacy import PiiEngine, get_engine; PiiEngine(); get_engine(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('spacy', 'presidio_analyzer', 'lingua', 'thinc')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# governance operations reach the import archive and the model registry (docs/privacy.md "Erasure")
GOVERNANCE = {"erasure.py", "subject.py", "retention.py", "redaction_job.py", "jobs.py", "customers_cli.py"}


def test_the_detection_engine_imports_nothing_from_the_rest_of_the_platform():
    import pathlib

    import privacy

    root = pathlib.Path(privacy.__file__).parent
    bad = [(p.name, line) for p in root.rglob("*.py") if p.name not in GOVERNANCE
           for line in p.read_text().splitlines()
           if line.lstrip().startswith(("from ", "import "))
           and line.split()[1].split(".")[0] in ("bot", "retrieval", "finetune", "actions", "nlu")]
    assert not bad, bad
