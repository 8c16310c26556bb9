"""`supportbot eval answers`: does the concise KB answer show the paragraph a person would pick?

Input: data/eval/kb_answer_labels.jsonl — 100 held-out Banking77 questions (the held-out split of
data/prepare/banking77.py, as `bench.retrieval_eval_set` draws it), each with the article of its
intent and the paragraph of that article a person chose as the one that answers it (index and its
first words, so a changed article is detected rather than mis-scored). How they were labelled is in
docs/retrieval.md "Concise answers". data/eval/kb_answer_labels_train.jsonl holds 60 questions of the
training split labelled the same way: the ranking's `LEAD_BONUS` is chosen there (`--labels ... --lead-bonus B`).

For each question the article is taken as given (the NLU's intent; retrieval quality is
`supportbot eval retrieval`), the question is embedded by the query encoder (the same vectors Rasa
carries), and three answers are compared:
* `whole_article` — the previous behaviour: every paragraph of the article;
* `lead` — the article's opening paragraphs up to the word limit (what cutting alone gives);
* `excerpt` — the paragraph (or two) closest to the question, as `action_answer_question` sends it.
Reported per answer: `contains_labelled` (the labelled paragraph is in the answer), `first_choice`
(it is the paragraph ranked first; for the whole article: its first paragraph), mean and p90 words.
Prints one JSON object.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import click
import numpy as np

from actions.catalog import KbCatalog
from actions.excerpt import LEAD_BONUS, block_scores, excerpt, word_count

LABELS = Path(__file__).resolve().parent.parent / "data" / "eval" / "kb_answer_labels.jsonl"


def labelled_index(blocks: tuple[str, ...], row: dict) -> int:
    """The labelled paragraph's index in today's article (found by its first words)."""
    start = " ".join(str(row["paragraph_start"]).split())
    for i, block in enumerate(blocks):
        if " ".join(block.split()).startswith(start):
            return i
    raise click.ClickException(f"the article {row['article']!r} no longer has the paragraph starting "
                               f"{start!r}; relabel that question in {LABELS}")


def _stats(rows: list[tuple[bool, bool, int]]) -> dict:
    words = sorted(w for _, _, w in rows)
    return {"contains_labelled": round(sum(c for c, _, _ in rows) / len(rows), 3),
            "first_choice": round(sum(f for _, f, _ in rows) / len(rows), 3),
            "mean_words": round(statistics.fmean(words), 1), "p90_words": words[int(0.9 * (len(words) - 1))]}


def evaluate(catalog: KbCatalog, encoder, labels: list[dict], limit: int, lead_bonus: float = LEAD_BONUS) -> dict:
    catalog.embed(encoder)
    vectors = encoder.encode([r["query"] for r in labels])
    results: dict[str, list[tuple[bool, bool, int]]] = {"whole_article": [], "lead": [], "excerpt": []}
    for row, qv in zip(labels, vectors):
        article = catalog.get(row["article"])
        if article is None:
            raise click.ClickException(f"no KB article for topic {row['article']!r} in {catalog!r}")
        want = labelled_index(article.blocks, row)
        blocks = list(article.blocks)
        results["whole_article"].append((True, want == 0, sum(word_count(b) for b in blocks)))
        lead = excerpt(blocks, None, None, limit)
        results["lead"].append((want in lead.blocks, want == lead.blocks[0], lead.words))
        part = excerpt(blocks, catalog.vectors_for(article), qv, limit, lead_bonus)
        ranked = int(np.argmax(block_scores(catalog.vectors_for(article), qv, lead_bonus)))
        results["excerpt"].append((want in part.blocks, want == ranked, part.words))
    return {"questions": len(labels), "word_limit": limit, "lead_bonus": lead_bonus,
            "encoder": type(encoder).__name__, **{name: _stats(rows) for name, rows in results.items()}}


@click.command("answers")
@click.option("--labels", "labels_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=LABELS, show_default=True)
@click.option("--words", type=int, default=None, help="Word limit (default: the kb_answer_words setting).")
@click.option("--lead-bonus", type=float, default=LEAD_BONUS, show_default=True,
              help="Head start of the article's opening paragraph in the ranking (actions/excerpt.py LEAD_BONUS).")
def eval_answers(labels_path: Path, words: int | None, lead_bonus: float) -> None:
    """Share of concise KB answers that show the hand-picked paragraph, and words per answer (JSON)."""
    from core.settings import get_settings
    from retrieval.query_encoder import query_encoder

    settings = get_settings()
    labels = [json.loads(line) for line in labels_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    encoder = query_encoder(settings).load()
    print(f"eval answers: {len(labels)} labelled questions, encoder {type(encoder).__name__}", file=sys.stderr)
    click.echo(json.dumps(evaluate(KbCatalog.load(settings.kb_dir), encoder, labels,
                                   words or settings.kb_answer_words, lead_bonus) | {"labels": labels_path.name}))
