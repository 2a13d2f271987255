"""Reports in English or Persian (``--lang fa``).

``localize`` turns a graded Report into the chosen language once, before any renderer sees it: the
rubric's own texts in that language where the rubric gives them (``title_fa``), and the engine's
feedback messages through a catalogue of their patterns.  Each renderer then takes its headings from
``labels(report.language)``.  Numbers, shapes, names and code inside Persian text are wrapped in
Unicode isolates (LRI … PDI), so they stay left to right in a right-to-left line.
"""
from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING

from .model import Report

if TYPE_CHECKING:
    from ..rubric import Rubric

LANGUAGES = ("en", "fa")
RTL = {"fa"}
LRI, PDI = "\u2066", "\u2069"

LABELS = {
    "en": {"item": "item", "points": "points", "status": "status", "feedback": "feedback", "total": "Total",
           "warning": "warning", "hidden": "hidden", "unknown_student": "unknown student",
           "unreadable": "The submission could not be graded", "notebook": "notebook", "cell": "cell",
           "pending": "{points} points wait for a TA", "what_to_fix": "What to fix",
           "automatic_share": "of the automatic points",
           "hidden_note": "{count} hidden item(s) are graded too; passing the public ones is not full marks.",
           "passed": "passed", "partial": "partial", "failed": "failed", "error": "error", "manual": "manual",
           "skipped": "skipped", "grader_error": "not graded",
           "grader_fault": "Not graded: a fault of the grader, not of this submission",
           "fix": "What the TA should do", "case": "case", "result": "result", "what_differs": "what differs",
           "your_answer": "your answer, as read", "more_cases": "{count} more cases",
           "detail_method": "method", "detail_chosen": "chosen", "detail_first_wrong_step": "first wrong step",
           "detail_steps": "steps"},
    "fa": {"item": "مورد", "points": "نمره", "status": "وضعیت", "feedback": "بازخورد", "total": "مجموع",
           "warning": "هشدار", "hidden": "پنهان", "unknown_student": "دانشجوی ناشناس",
           "unreadable": "این پاسخ قابل نمره‌دهی نبود", "notebook": "نوت‌بوک", "cell": "سلول",
           "pending": "{points} نمره منتظر تصحیح دستیار آموزشی است", "what_to_fix": "آنچه باید درست شود",
           "automatic_share": "از نمرهٔ خودکار",
           "hidden_note": "{count} مورد پنهان هم نمره‌دهی می‌شود؛ قبولی در موردهای عمومی به معنای نمرهٔ کامل نیست.",
           "passed": "قبول", "partial": "نیمه", "failed": "نادرست", "error": "خطا", "manual": "دستی",
           "skipped": "اجرا نشد", "grader_error": "نمره داده نشد",
           "grader_fault": "نمره داده نشد: خطا از سامانهٔ نمره‌دهی است، نه از این پاسخ",
           "fix": "کاری که دستیار آموزشی باید بکند", "case": "آزمون", "result": "نتیجه", "what_differs": "تفاوت",
           "your_answer": "پاسخ شما، آن‌گونه که خوانده شد", "more_cases": "{count} آزمون دیگر",
           "detail_method": "روش", "detail_chosen": "گزینه‌های انتخاب‌شده", "detail_first_wrong_step": "نخستین گام نادرست",
           "detail_steps": "گام‌ها"},
}

# (English pattern, Persian template).  Applied in order, anywhere in a message; {1}, {2} are the
# pattern's groups, kept left to right.  Longer, more specific patterns come first.
FA_MESSAGES = [
    (r"all (\d+) cases passed", "هر {1} مورد آزمون درست بود"),
    (r"all (\d+) checks passed \(([^)]*)\)", "هر {1} بررسی درست بود ({2})"),
    (r"(\d+)/(\d+) cases passed", "{1} از {2} مورد آزمون درست بود"),
    (r"\bcase (\d+) \((edge [^;)]*; )?([^)]*)\)", "مورد {1} ({2}{3})"),
    (r"(\d+) of (\d+) values wrong", "{1} از {2} مقدار نادرست است"),
    (r"max abs error (\S+) at index (\[[^\]]*\])", "بیشترین خطای مطلق {1} در اندیس {2}"),
    (r"max abs error ([^\s,]+)", "بیشترین خطای مطلق {1}"),
    (r"max rel error ([^\s,)]+)", "بیشترین خطای نسبی {1}"),
    (r"\(expected ([^,]+), got ([^)]+)\)", "(مقدار درست {1}، مقدار شما {2})"),
    (r"expected shape (\([^)]*\)), got (\([^)]*\))", "شکل درست {1} است، شکل شما {2}"),
    (r"expected an array of shape (\([^)]*\)), got ([^(;]+?)(?= \(|;|$)", "آرایه‌ای با شکل {1} لازم بود، اما {2} برگشت"),
    (r"\(also wrong: ([^)]*)\)", "(این‌ها هم نادرست‌اند: {1})"),
    (r"the remaining cases were not run", "موردهای باقی‌مانده اجرا نشدند"),
    (r"(\w+) is not defined in the notebook; did you mean ([^?]*)\?", "{1} در نوت‌بوک تعریف نشده است؛ شاید منظورتان {2} است؟"),
    (r"(\w+) is not defined in the notebook", "{1} در نوت‌بوک تعریف نشده است"),
    (r"(\w+) is not defined: cell (\d+), which defines it, failed with ", "{1} تعریف نشده است: سلول {2} که آن را تعریف می‌کند با این خطا شکست خورد: "),
    (r"(\w+) is not defined: ([\w.-]+\.py), which defines it, failed with ", "{1} تعریف نشده است: فایل {2} که آن را تعریف می‌کند با این خطا شکست خورد: "),
    (r"(\w+)\(\) raised (\w+): ", "{1}() این خطا را داد: {2}: "),
    (r"(\w+)\(\) did not return within (\d+) s \(an infinite loop\?\)", "{1}() در {2} ثانیه تمام نشد (حلقهٔ بی‌پایان؟)"),
    (r"(\w+)\(\) crashed the kernel \(exit, fatal signal or out of memory\)", "{1}() کرنل را از کار انداخت (exit، سیگنال مرگبار یا کمبود حافظه)"),
    (r"^to be graded by a TA", "با تصحیح دستیار آموزشی"),
    (r"\(no written answer found\)", "(پاسخ نوشته‌شده‌ای پیدا نشد)"),
    (r"no answer under '## ([^']+)' in the answers file", "زیر عنوان ## {1} در فایل پاسخ‌ها پاسخی نیست"),
    (r"^correct \(convention: ([^)]*)\)$", "درست (با قرارداد {1})"),
    (r"^correct$", "درست"),
    (r"^incorrect$", "نادرست"),
    (r"^could not be graded \(the code raised, hung or is missing\)$", "نمره‌دهی نشد (کد خطا داد، تمام نشد یا وجود ندارد)"),
    (r"^the same order$", "از همان مرتبه"),
    (r"cannot read a number: ", "عددی خوانده نشد: "),
    (r"cannot read a shape: ", "شکلی خوانده نشد: "),
    (r"cannot read the answer: ", "پاسخ خوانده نشد: "),
    (r"not equivalent to the expected expression: ", "با عبارت درست هم‌ارز نیست: "),
    (r"^([^\s]+) is not an accepted value$", "{1} جزو مقدارهای پذیرفته نیست"),
    (r"^no forbidden API in the code and a run of (\w+)\(\)$", "هیچ API ممنوعی در کد و در اجرای {1}() نیست"),
    (r"^no forbidden API in the code$", "هیچ API ممنوعی در کد نیست"),
    (r"^forbidden API: ", "API ممنوع: "),
    (r"changing token (\d+) changed outputs before it: the model sees the future",
     "تغییر توکن {1} خروجی‌های پیش از آن را تغییر داد: مدل آینده را می‌بیند"),
    (r"permuting the tokens does not just permute the output", "جابه‌جا کردن توکن‌ها فقط خروجی را جابه‌جا نمی‌کند"),
    (r"(\d+) parameters, expected (\d+)", "{1} پارامتر، به جای {2}"),
    (r"answered; read as (.*); whether it is right is graded on upload",
     "پاسخ داده شده و چنین خوانده شد: {1}؛ درستی آن هنگام ارسال نمره‌دهی می‌شود"),
    (r"the grader cannot read this answer: ", "نمره‌دهنده این پاسخ را نمی‌تواند بخواند: "),
    (r"^the submission could not be read: ", "فایل ارسالی خوانده نشد: "),
    (r"Passing every check here is not the same as full marks\.", "قبولی در همهٔ این بررسی‌ها به معنای نمرهٔ کامل نیست."),
    (r"are graded only on upload", "فقط هنگام ارسال نمره‌دهی می‌شوند"),
]
CATALOGUE = {"fa": [(re.compile(pattern), template) for pattern, template in FA_MESSAGES]}


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def is_rtl(language: str) -> bool:
    return language in RTL


def translate(message: str, language: str) -> str:
    """``message`` with every catalogued English phrase in ``language``; the rest is left as it is."""
    for pattern, template in CATALOGUE.get(language, []):
        message = pattern.sub(lambda match: _fill(template, match), message)
    return message


def _fill(template: str, match: re.Match) -> str:
    def group(reference: re.Match) -> str:
        value = match.group(int(reference.group(1))) or ""
        return f"{LRI}{value}{PDI}" if value and not _is_persian(value) else value
    return re.sub(r"\{(\d)\}", group, template)


def _is_persian(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def localize(report: Report, language: str, rubric: "Rubric | None" = None) -> Report:
    """A copy of ``report`` in ``language``: the rubric's titles in it where given, messages translated."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language '{language}' (known: {', '.join(LANGUAGES)})")
    result = copy.deepcopy(report)
    result.language = language
    if language == "en":
        return result
    if rubric is not None:
        titles = {item.id: item.titles.get(language) for item in rubric.items}
        for item in result.items:
            item.title = titles.get(item.id) or item.title
        title = rubric.titles.get(language)
        if title:
            result.assignment = {**result.assignment, "title": title}
    for item in result.items:
        item.feedback = translate(item.feedback, language)
    result.warnings = [translate(warning, language) for warning in result.warnings]
    return result
