"""``gradproof export prairielearn -o DIR``: the exercise bank as PrairieLearn questions.

One folder per exercise under ``DIR/questions/``, in PrairieLearn's v3
question format: ``info.json`` (a uuid5 derived from the exercise id, so a
re-export keeps every question's identity), ``question.html`` (the prompt in
a ``pl-question-panel`` and a ``pl-string-input`` named ``answer``) and
``server.py``, whose ``generate(data)`` picks the variant from PrairieLearn's
``variant_seed`` and whose ``grade(data)`` runs gradproof's checker on the
submitted text.  Exercise text reaches ``server.py`` only inside a string
literal (``repr`` of a JSON document), never as code.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from gradproof.reports.errors import CLIError

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://gradproof.invalid/exercises")

QUESTION_HTML = """\
<pl-question-panel>
  <p><strong>{{params.title}}</strong></p>
  <p>{{params.prompt}}</p>
  {{#params.symbols}}
  <p>Symbols: {{params.symbols}}</p>
  {{/params.symbols}}
  {{#params.given}}
  <p>Given: {{.}}</p>
  {{/params.given}}
  {{#params.options}}
  <p>({{key}}) {{text}}</p>
  {{/params.options}}
  <p><small>{{params.typing}}</small></p>
</pl-question-panel>

<pl-string-input answers-name="answer" label="{{params.lhs}} =" size="60" remove-leading-trailing="true"></pl-string-input>

<pl-submission-panel>
  <p>{{feedback.answer}}</p>
</pl-submission-panel>
"""

SERVER_PY = '''\
"""PrairieLearn question for the gradproof exercise {ex_id!r} (written by `gradproof export prairielearn`).

generate(data): picks this variant's text from VARIANTS by PrairieLearn's variant_seed.
grade(data): checks data["submitted_answers"]["answer"] with gradproof's checker and sets
data["partial_scores"]["answer"], data["score"] and data["feedback"]["answer"].
gradproof must be installed in the Python that runs this question.
"""
import json

EXERCISE = {ex_id!r}
VARIANTS = json.loads({variants!r})
SYMBOLIC_SECONDS = 2.0


def generate(data):
    k = int(data.get("variant_seed", 0) or 0) % len(VARIANTS)
    data["params"].update(VARIANTS[k])
    data["params"]["variant"] = k


def grade(data):
    from gradproof.derive.seminar.answer_types import check
    from gradproof.derive.seminar.exercises import get

    answer = data["submitted_answers"].get("answer")
    if not isinstance(answer, str) or not answer.strip():
        data["format_errors"]["answer"] = "Type an answer."
        return
    k = int(data["params"].get("variant", 0)) % len(VARIANTS)
    verdict = check(get(VARIANTS[k]["id"]), answer, symbolic_seconds=SYMBOLIC_SECONDS)
    message = " ".join(verdict.feedback) or verdict.status
    if verdict.status == "invalid":
        # unreadable: a format error, which costs the student no attempt
        data["format_errors"]["answer"] = message
        return
    if verdict.reading:
        message = "Read as " + verdict.reading + ". " + message
    score = float(verdict.credit) if verdict.status in ("correct", "incorrect") else 0.0
    data["partial_scores"]["answer"] = {{"score": score, "weight": 1, "feedback": message}}
    data["score"] = score
    data["feedback"]["answer"] = message
'''


def question_id(ex_id: str) -> str:
    return "gradproof_" + re.sub(r"[^A-Za-z0-9_-]+", "_", ex_id)


def variant_params(ex) -> dict:
    from gradproof.derive.seminar.numeric_items import given_text

    return {
        "id": ex.id,
        "title": ex.title,
        "prompt": ex.prompt,
        "lhs": ex.lhs,
        "symbols": ", ".join(f"{s['name']} ({s['shape']})" for s in ex.symbol_table()) if ex.symbols else "",
        "given": list(given_text(ex)),
        "options": [{"key": o.key, "text": o.text} for o in ex.options],
        "typing": typing_note(ex),
    }


def typing_note(ex) -> str:
    if ex.answer_type == "choice":
        return "Answer with one letter."
    if ex.answer_type == "numeric":
        return "Rows in brackets, e.g. [[1, -0.5], [2, 0.25]], or rows separated by ';'."
    if ex.answer_type == "steps":
        return "One formula per step, separated by ';': " + "; ".join(st.lhs for st in ex.stages) + "."
    from gradproof.derive.seminar.hints import TYPING_EXAMPLE

    return f"Type a formula in the listed symbols, e.g. {TYPING_EXAMPLE}; ' is a transpose, inv(A) an inverse."


def export_prairielearn(bank, outdir) -> list[Path]:
    """Write ``outdir/questions/<qid>/{info.json,question.html,server.py}`` for each exercise."""
    from gradproof.derive.support.atomic import write_atomic

    out = Path(outdir)
    written = []
    for ex in bank:
        qdir = out / "questions" / question_id(ex.id)
        n = max(1, ex.n_variants)
        variants = [variant_params(ex.make_variant(k) if n > 1 else ex) for k in range(n)]
        info = {
            "uuid": str(uuid.uuid5(NAMESPACE, ex.id)),
            "title": ex.title,
            "topic": ex.section or ex.topic,
            "tags": ["gradproof", ex.answer_type, ex.topic],
            "type": "v3",
            "singleVariant": n == 1,
            "partialCredit": True,
            "comment": f"gradproof exercise {ex.id}; regenerate with `gradproof export prairielearn`",
        }
        write_atomic(qdir / "info.json", json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        write_atomic(qdir / "question.html", QUESTION_HTML)
        payload = json.dumps(variants, ensure_ascii=False, sort_keys=True)
        write_atomic(qdir / "server.py", SERVER_PY.format(ex_id=ex.id, variants=payload))
        written += [qdir / "info.json", qdir / "question.html", qdir / "server.py"]
    return written


def cmd_export(args) -> int:
    from gradproof.derive.seminar.exercises import UnknownExercise, exercises, get

    try:
        bank = exercises()
    except (OSError, ValueError) as err:
        raise CLIError(f"exercise file: {err}") from None
    if args.exercises:
        try:
            bank = [get(e.strip()) for e in args.exercises.split(",") if e.strip()]
        except UnknownExercise as err:
            raise CLIError(str(err)) from None
    from gradproof.derive.support.atomic import OutputError, OutputFolder

    try:  # built beside the folder and swapped in whole: an interrupted export leaves the previous one
        with OutputFolder(args.output, command="export-prairielearn", follow_symlinks=args.follow_symlinks) as folder:
            written = export_prairielearn(bank, folder.path)
            folder.commit()
    except OutputError as err:
        raise CLIError(str(err)) from None
    except OSError as err:
        raise CLIError(f"cannot write {args.output}: {err.strerror or err}") from None
    print(f"{len(bank)} question(s) written to {Path(args.output) / 'questions'} ({len(written)} files)")
    return 0
