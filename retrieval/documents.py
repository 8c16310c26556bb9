"""Readers that turn knowledge-base files into `Document`s with light markdown structure.

Every format is normalised to markdown-ish text (`#` headings, blank-line paragraphs, `- ` list
items) so one chunker can split all of them on structure. A file that cannot be read raises
`DocumentError` naming the file and the problem; ingestion reports it and carries on.

Formats: .md/.markdown (optional YAML front matter: title, url, id, anything else becomes
filterable metadata), .txt, .html/.htm, .json/.jsonl (records `{"id","title","text","url"}`,
or the ABCD agent handbook as published), .csv (columns id,title,text,url or question,answer).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import DocumentError, UnsupportedFormat
from retrieval.questions import KEY as QUESTIONS
from retrieval.questions import clean_questions

SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".json", ".jsonl", ".csv"}
MAX_FILE_BYTES = 50 * 2**20


@dataclass
class Document:
    doc_id: str
    title: str
    text: str
    url: str = ""
    source: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """What decides whether re-ingesting the document changes anything."""
        payload = json.dumps([self.title, self.url, self.text, self.meta], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


def read_file(path: Path, doc_id_base: str) -> list[Document]:
    """All documents in one file; `doc_id_base` is the file's stable id (its path relative to the root)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFormat(f"{path}: unsupported format {suffix!r} (supported: {', '.join(sorted(SUFFIXES))})")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DocumentError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MB; split it into smaller files")
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); re-save it as UTF-8") from exc
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    reader = READERS[suffix]
    try:
        docs = reader(raw, doc_id_base)
    except DocumentError as exc:
        raise DocumentError(f"{path}: {exc}") from exc
    except (ValueError, KeyError, TypeError, csv.Error) as exc:
        raise DocumentError(f"{path}: cannot parse as {suffix[1:]} ({exc})") from exc
    for doc in docs:
        doc.source = str(path.resolve())
    return [d for d in docs if d.text.strip()]


# -- markdown and text ---------------------------------------------------------------------------
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _first_heading(text: str) -> str:
    m = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)
    return m.group(1).strip() if m else ""


def _stem_title(doc_id: str) -> str:
    return Path(doc_id).stem.replace("_", " ").replace("-", " ").strip().capitalize()


def read_markdown(raw: str, doc_id: str) -> list[Document]:
    meta: dict = {}
    m = _FRONT_MATTER.match(raw)
    if m:
        import yaml

        try:
            meta = yaml.safe_load(m.group(1)) or {}
        except yaml.YAMLError as exc:
            raise DocumentError(f"broken YAML front matter ({str(exc).splitlines()[0]})") from exc
        if not isinstance(meta, dict):
            raise DocumentError("front matter must be a YAML mapping (key: value lines)")
        raw = raw[m.end():]
    questions = clean_questions(meta.pop(QUESTIONS, None))
    meta = {str(k): (v if isinstance(v, (str, int, float, bool)) else str(v)) for k, v in meta.items()}
    if questions:  # the one list-valued key: the article's example questions (retrieval/questions.py)
        meta[QUESTIONS] = questions
    title = str(meta.pop("title", "") or _first_heading(raw) or _stem_title(doc_id))
    url = str(meta.pop("url", "") or "")
    return [Document(str(meta.pop("id", doc_id)), title, raw.strip(), url, meta=meta)]


def read_text(raw: str, doc_id: str) -> list[Document]:
    lines = raw.strip().splitlines()
    title = lines[0].strip() if lines and len(lines[0]) <= 120 else _stem_title(doc_id)
    return [Document(doc_id, title, raw.strip())]


# -- HTML ----------------------------------------------------------------------------------------
def read_html(raw: str, doc_id: str) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript"]):
        tag.decompose()
    title = (soup.title.get_text(strip=True) if soup.title else "") or ""
    canonical = soup.find("link", rel="canonical")
    url = canonical.get("href", "") if canonical else ""
    body = soup.body or soup
    blocks: list[str] = []
    for el in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "td", "dt", "dd"]):
        if el.find_parent(["p", "li", "pre", "td", "dd"]):  # nested: its parent already holds the text
            continue
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name[0] == "h":
            blocks.append("#" * int(el.name[1]) + " " + text)
        elif el.name == "li":
            blocks.append("- " + text)
        else:
            blocks.append(text)
    if not blocks:
        blocks = [" ".join(body.get_text(" ", strip=True).split())]
    text = "\n\n".join(blocks)
    return [Document(doc_id, title or _first_heading(text) or _stem_title(doc_id), text, url)]


# -- records: JSON, JSONL, CSV --------------------------------------------------------------------
def _record(rec: dict, doc_id: str, i: int) -> Document:
    if not isinstance(rec, dict):
        raise DocumentError(f"record {i} is {type(rec).__name__}, expected an object with id, title, text, url")
    text = rec.get("text") or rec.get("answer") or rec.get("body") or rec.get("content")
    if not isinstance(text, str):
        raise DocumentError(f"record {i} has no text (expected a 'text' field)")
    title = rec.get("title") or rec.get("question") or ""
    rid = rec.get("id", rec.get("doc_id"))
    meta = {k: v for k, v in rec.items() if k not in {"id", "doc_id", "title", "question", "text", "answer",
                                                       "body", "content", "url"}
            and isinstance(v, (str, int, float, bool))}
    if clean_questions(rec.get(QUESTIONS)):
        meta[QUESTIONS] = clean_questions(rec.get(QUESTIONS))
    return Document(str(rid) if rid not in (None, "") else f"{doc_id}#{i}", str(title) or text[:60],
                    text.strip(), str(rec.get("url") or ""), meta=meta)


def read_json(raw: str, doc_id: str) -> list[Document]:
    data = json.loads(raw)
    if isinstance(data, dict) and _is_abcd_handbook(data):
        return read_abcd_handbook(data, doc_id)
    if isinstance(data, dict) and isinstance(data.get("documents"), list):
        data = data["documents"]
    if isinstance(data, dict) and "text" in data:
        data = [data]
    if not isinstance(data, list):
        raise DocumentError("expected a list of {id,title,text,url} records, {'documents': [...]}, "
                            "or the ABCD agent handbook")
    return [_record(rec, doc_id, i) for i, rec in enumerate(data)]


def iter_jsonl(raw: str):
    """(line number, parsed object) for each non-blank line; a bad line names its number."""
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"line {n} is not valid JSON ({exc.msg})") from exc


def read_jsonl(raw: str, doc_id: str) -> list[Document]:
    return [_record(rec, doc_id, n) for n, rec in iter_jsonl(raw)]


def read_csv(raw: str, doc_id: str) -> list[Document]:
    reader = csv.DictReader(io.StringIO(raw))
    fields = set(reader.fieldnames or [])
    if not ({"text"} <= fields or {"answer"} <= fields):
        raise DocumentError(f"CSV needs a 'text' (or 'answer') column; it has {sorted(fields)}")
    return [_record(dict(row), doc_id, n) for n, row in enumerate(reader, start=2)]


# -- the ABCD agent handbook (guidelines.json) -----------------------------------------------------
def _is_abcd_handbook(data: dict) -> bool:
    return bool(data) and all(isinstance(v, dict) and isinstance(v.get("subflows"), dict) for v in data.values())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def read_abcd_handbook(data: dict, doc_id: str) -> list[Document]:
    """One document per subflow: its situation, the steps with their buttons, and the wrap-up."""
    docs = []
    for flow, body in data.items():
        for subflow, spec in body["subflows"].items():
            instructions = [str(s) for s in spec.get("instructions") or []]
            lines = [f"# {flow}: {subflow}", ""]
            if body.get("description"):
                lines += [f"{flow} covers {body['description']}.", ""]
            if instructions:
                lines += [instructions[0], ""]
            for step, action in enumerate(spec.get("actions") or [], start=1):
                button = action.get("button", "")
                head = f"{step}. {action.get('text', '').strip()}"
                if button and button != "N/A":
                    head += f" (button: {button})"
                lines.append(head)
                lines += [f"   - {s}" for s in action.get("subtext") or []]
                lines.append("")
            lines += instructions[1:]
            docs.append(Document(
                f"{doc_id}#{_slug(flow)}/{_slug(subflow)}", f"{flow}: {subflow}", "\n".join(lines).strip(),
                meta={"flow": flow, "subflow": subflow, "category": flow},
            ))
    return docs


READERS = {
    ".md": read_markdown, ".markdown": read_markdown, ".txt": read_text, ".html": read_html,
    ".htm": read_html, ".json": read_json, ".jsonl": read_jsonl, ".csv": read_csv,
}
