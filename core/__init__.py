"""supportbot's shared core: the typed settings, the conversation store (SQLAlchemy models, migrations,
statements) and the repository's paths.

Every other package (bot, actions, retrieval, finetune, nlu, privacy) may import `core`; `core` imports none
of them (tests/test_layout.py checks it). Nothing heavy is imported here.
"""
