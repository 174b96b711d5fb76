"""How long the answer model takes per answer, by the tokens it reads: chooses
ASSISTANT_EXTRACTIVE_TOKEN_BUDGET.

    .venv/bin/python bench/answer_model.py [--budgets 1000,2000,3000,4000] [--repeats 15]

Reads SQuAD part 1's validation articles (20-23) into units as answering does, and for
each of a sample of their questions scores units of other paragraphs, best-ranked first,
until each budget of tokens is spent; prints p50/p95 milliseconds per budget and the load
average. The last line is one JSON object.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SQUAD = ROOT.parent / "shared" / "eval" / "squad" / "dev-v1.1-part1.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budgets", default="1000,2000,3000,4000,6000")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    from localdev.services import ensure_local_services

    ensure_local_services()
    import django

    django.setup()
    from assistant.answer_model.inputs import unit_input
    from assistant.answer_model.scorer import answer_scorer
    from assistant.llm.passage_units import passage_units

    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"][20:24]
    texts: list[str] = []
    questions: list[str] = []
    for article in data:
        title = article["title"].replace("_", " ")
        for paragraph in article["paragraphs"]:
            units = passage_units(paragraph["context"], passage=0, heading=title)
            texts.extend(unit_input(u, heading_path=title) for u in units if u.answerable)
            questions.extend(qa["question"] for qa in paragraph["qas"][:1])
    rng = random.Random(7)
    scorer = answer_scorer()
    scorer.probabilities(questions[0], texts[:8])  # load and warm the session
    figures = {}
    for budget in (int(b) for b in args.budgets.split(",")):
        timings = []
        counts = []
        for question in rng.sample(questions, args.repeats):
            start = rng.randrange(len(texts) - 200)
            window = texts[start : start + 200]
            kept = scorer.within_budget(question, window, budget)
            started = time.perf_counter()
            scorer.probabilities(question, window[:kept])
            timings.append((time.perf_counter() - started) * 1000)
            counts.append(kept)
        ordered = sorted(timings)
        figures[budget] = {
            "units_p50": statistics.median(counts),
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        }
        print(f"budget {budget} tokens: {figures[budget]}", flush=True)
    print(json.dumps({"load_average": os.getloadavg(), "budgets": figures}))


if __name__ == "__main__":
    main()
