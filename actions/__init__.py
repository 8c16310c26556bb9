"""supportbot's Rasa custom actions (rasa-sdk), served by `python -m actions`.

Cheap to import: the heavy parts (encoder, FAISS index, response selector) load in
`actions.services.ActionServices.warm_up()` when the server starts.
"""
