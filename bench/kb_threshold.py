"""`python -m bench.kb_threshold`: how well the KB answers Banking77 questions, and where to put
`kb_min_score`. Prints one JSON object on stdout (progress on stderr).

Queries: a seeded sample of the NLU *training* examples (data/nlu/banking77.yml; the held-out
evaluation split is never used for tuning) and the out-of-scope training examples
(data/nlu/out_of_scope.yml). For each query it records the retriever's top cosine score and
whether the top hit is the article of the query's intent, then reports for candidate thresholds
the share of in-scope queries the KB would answer and of out-of-scope ones it would wrongly answer.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from core.settings import ROOT, get_settings
from finetune.learnt_routing import nlu_examples as examples

THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kb_threshold", description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, default=get_settings().index_dir)
    parser.add_argument("--per-intent", type=int, default=8, help="queries sampled per Banking77 intent")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from actions.catalog import KbCatalog
    from retrieval.service import Retriever

    catalog = KbCatalog.load(get_settings().kb_dir)
    rng = random.Random(args.seed)
    in_scope = [(intent, text) for intent, texts in sorted(examples(ROOT / "data/nlu/banking77.yml").items())
                for text in rng.sample(texts, min(args.per_intent, len(texts)))]
    out_scope = [t for texts in examples(ROOT / "data/nlu/out_of_scope.yml").values() for t in texts]
    retriever = Retriever(args.index_dir, settings=get_settings()).load()
    print(f"{len(in_scope)} in-scope and {len(out_scope)} out-of-scope queries", file=sys.stderr)

    started = time.perf_counter()
    top_in, correct, in_top5 = [], 0, 0
    for intent, text in in_scope:
        hits = retriever.search(text, k=5)
        article = catalog.get(intent)
        top_in.append(hits[0]["score"] if hits else 0.0)
        correct += bool(hits and article and hits[0]["url"] == article.url)
        in_top5 += bool(article and any(h["url"] == article.url for h in hits))
    top_out = [(retriever.search(t, k=1) or [{"score": 0.0}])[0]["score"] for t in out_scope]
    seconds = time.perf_counter() - started

    s_in, s_out = np.array(top_in), np.array(top_out)
    print(json.dumps({
        "index_version": retriever.manifest["version"],
        "queries": {"in_scope": len(in_scope), "out_of_scope": len(out_scope), "seed": args.seed},
        "article_top1": round(correct / len(in_scope), 4),
        "article_in_top5": round(in_top5 / len(in_scope), 4),
        "thresholds": {str(t): {"in_scope_answered": round(float((s_in >= t).mean()), 4),
                                "out_of_scope_answered": round(float((s_out >= t).mean()), 4)}
                       for t in THRESHOLDS},
        "ms_per_query": round(1000 * seconds / (len(in_scope) + len(out_scope)), 2),
    }))


if __name__ == "__main__":
    main()
