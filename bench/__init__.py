"""The benchmark and evaluation drivers: each prints one JSON object on stdout, progress on stderr.

Users run them through the CLI (bot/cli.py maps the names) or as modules; docs/benchmarks.md lists
the current figures and the command behind each.

| module | command | measures |
|---|---|---|
| `chat` | `supportbot bench chat` (`scripts/bench_channel.sh`: the sweep) | the customer channel: latency, throughput |
| `index` | `supportbot bench index` | FAISS index types against exact search: build time, memory, latency, recall |
| `responses` | `supportbot eval responses` | the fine-tuned dialogue model against the base encoder and BM25 |
| `console_list` | `python -m bench.console_list` | the console's conversation list on 100,000 conversations |
| `kb_profile` | `supportbot bench kb-profile` | one KB answer end to end: ms and CPU per stage (Rasa NLU, turn, action, bot service) |
| `answers` | `supportbot eval answers` | concise KB answers against hand-labelled paragraphs: share right, words per answer |
| `assist` | `supportbot bench assist` | the console's suggestion panel: refresh latency (replies + KB passages) for a 20-turn conversation |
| `assist_eval` | `supportbot eval assist` | suggested replies against what agents wrote: recall@1, recall@3, ms per suggestion |
| `response_precision` | `supportbot bench response-precision` | the response model's float32 ONNX encoder against its int8 copy: CPU per encode, recall@1 of 100, agreement |
| `kb_threshold` | `python -m bench.kb_threshold` | where to put `kb_min_score` (KB answers in and out of scope) |
| `nlu_latency` | `.venv-rasa/bin/python -m bench.nlu_latency` | a trained Rasa model's NLU cost per message, wall and CPU, by language |
| `tracker_store` | `python -m bench.tracker_store` | Rasa's CPU per message in its SQL tracker store, Rasa's against rasa_plugins/sql_tracker_store.py |
| `rasa_conversation` | (imported in Rasa's runtime) | a support conversation as Rasa events, for `tracker_store` and `action_request` |
| `retrieval_eval_set` | `python -m bench.retrieval_eval_set` | builds the held-out set of `supportbot eval retrieval` |

The libraries never import this package; it imports them.
"""
