"""Text from students' documents (grader/documents/text.py) and where each answer is in it
(grader/documents/placement.py): every label style students write, the content that only looks like a
label, sub-answers, page declarations and the bounds."""
from __future__ import annotations

import time

import pytest

from grader.documents.placement import MAX_LINES, Line, Placed, place, read_page_declaration
from grader.documents.text import logical_order, normalise

HW5_IDS = ["q1.a", "q1.a.reason", "q1.b", "q1.b.reason", "q1.c", "q1.c.reason", "q2.a", "q2.b", "q2.c", "q2.d",
           "q3.a", "q3.b", "q4.notebook"]
HW5 = [(item_id, ()) for item_id in HW5_IDS]
HW5_MANUAL = frozenset({"q1.a.reason", "q1.b.reason", "q1.c.reason", "q3.b", "q4.notebook"})


def document(*pages: str) -> list[Line]:
    """Lines as the reader gives them: each page's text normalised, numbered from page 1."""
    return [Line(normalise(text), number) for number, page in enumerate(pages, start=1)
            for text in page.strip("\n").split("\n")]


def texts(placement) -> dict[str, str]:
    return {item_id: answer.text for item_id, answer in placement.answers.items()}


# --- normalise ------------------------------------------------------------------------------------------

def test_normalise_turns_presentation_forms_into_letters():
    # "سوال" in isolated/initial/medial/final presentation forms, and the lam-alef ligature of "کلاس"
    assert normalise("ﺳﻮﺍﻝ") == "سوال"
    assert normalise("ﮐﻼﺱ") == "کلاس"


def test_normalise_arabic_letters_digits_and_tatweel():
    assert normalise("يك كتاب") == "یک کتاب"            # Arabic yeh and kaf become Persian
    assert normalise("مدرسة") == "مدرسة"                 # teh marbuta stays
    assert normalise("علـــی") == "علی"                  # tatweel only stretched the word
    assert normalise("سوال ۲۳ و ٤٥") == "سوال 23 و 45"   # Persian and Arabic-Indic digits


def test_normalise_keeps_zwnj_and_drops_other_invisibles():
    assert normalise("می\u200cشود") == "می\u200cشود"
    assert normalise("\u200fسوال\u200e \u202bب\u202c \u2067x\u2069") == "سوال ب x"
    assert normalise("a\u200bb\ufeffc\u2060d") == "abcd"
    assert normalise("soft\u00adhyphen") == "softhyphen"


def test_normalise_spaces_dashes_and_lines():
    assert normalise("a\u00a0b\u202fc\u2009d    e\tf") == "a b c d e f"
    assert normalise("  x − y – z  \n\n  second  ") == "x − y – z\n\nsecond"  # minus and en dash stay


def test_normalise_folds_full_width_and_math_letters_but_not_superscripts():
    assert normalise("𝑊_ℎℎ ＝ Ｑ２") == "W_hh = Q2"
    assert normalise("x² + Wᵀ + 1½") == "x² + Wᵀ + 1½"  # a square is no 2, a transpose no T


# --- logical_order --------------------------------------------------------------------------------------

def test_visual_order_document_is_turned_around():
    visual = ["۲ لاوس", "تسا نیا خساپ", "W_hh سیرتام هب", "(ب) ای (فلا)", "dW = x^T"]
    assert logical_order(visual) == ["سوال ۲", "پاسخ این است", "به ماتریس W_hh", "(الف) یا (ب)", "dW = x^T"]


def test_visual_order_with_presentation_forms_and_a_ligature():
    # a producer that stores glyphs: presentation forms, in visual order, "کلاس" with its lam-alef ligature
    raw = ["ﺱﻼﮐ ﺭﺩ ۲ ﻝﺍﻮﺳ", "ﺖﺳﺍ ﻦﯾﺍ ﺦﺳﺎﭘ"]
    assert [normalise(line) for line in logical_order(raw)] == ["سوال 2 در کلاس", "پاسخ این است"]
    # already normalised lines are turned too (the ligature's letters are the one thing that cannot be)
    assert logical_order([normalise(line) for line in raw])[1] == "پاسخ این است"


def test_logical_order_document_is_left_alone():
    lines = ["سوال ۲: پاسخ این است که W_hh", "ماتریس به این شکل است", "hello"]
    assert logical_order(lines) == lines
    assert logical_order(["لاوس"]) == ["لاوس"]  # one reversed word is not evidence enough
    assert logical_order([]) == []


def test_visual_order_english_line_turns_only_its_persian_words():
    lines = ["تسا نیا خساپ", "ﻪﮐ ﺭﺩ", "see the word ۲ لاوس in the text"]
    assert logical_order(lines)[2] == "see the word سوال ۲ in the text"


# --- place: label styles --------------------------------------------------------------------------------

def test_persian_labels_with_choices_and_manual_reasons():
    placed = place(document("""
تمرین پنجم - علی رضایی
## سوال ۱
(الف)
(ب) و (ج)
زیرا خروجی یک برچسب است
(ب)
ج
دلیل: y_t فقط به گذشته وابسته است
(ج)
(ج)
احتمال کلمه بعدی
## سوال ۲
الف) y_hat_t - y_t
ب) (W_hh^T)^2 W_yh^T (y_hat_3 - y_3)
ج) sum
د) gW_1 + gW_2 + gW_3
## سوال ۳
الف) [1, 2]
ب) گرادیان صفر است
## سوال ۴
در نوتبوک
"""), HW5, HW5_MANUAL)
    got = texts(placed)
    assert got["q1.a"] == "(ب) و (ج)\nزیرا خروجی یک برچسب است"   # "(ب) و (ج)" is the choice, not part b
    assert got["q1.b"] == "ج\nدلیل: y_t فقط به گذشته وابسته است"
    assert got["q1.c"] == "(ج)\nاحتمال کلمه بعدی"                # the "(ج)" right under the label is the choice
    for part in "abc":  # a reason the student did not label is read beside its choice
        assert got[f"q1.{part}.reason"] == got[f"q1.{part}"]
    assert got["q2.a"] == "y_hat_t - y_t"
    assert got["q2.d"] == "gW_1 + gW_2 + gW_3"
    assert got["q3.a"] == "[1, 2]" and got["q3.b"] == "گرادیان صفر است"
    assert got["q4.notebook"] == "در نوتبوک"
    assert placed.answers["q2.b"].label == "ب)"
    assert placed.unplaced == [] and placed.warnings == []


def test_english_labels_words_and_letters():
    placed = place(document("""
Question 1
(a) b, c since the output is one label
Part b
c
part (c): c
Problem 2
a) y_hat - y
b. W_hh^T W_yh^T
c: W_yh^T
d) gW_1 + gW_2 + gW_3
Exercise 3
(A) [1, 2]
(B) zero gradient
Q 4
done in the notebook
"""), HW5, HW5_MANUAL)
    got = texts(placed)
    assert got["q1.a"] == "b, c since the output is one label"
    assert got["q1.b"] == "c" and got["q1.c"] == "c"
    assert [got[f"q2.{p}"] for p in "abcd"] == ["y_hat - y", "W_hh^T W_yh^T", "W_yh^T", "gW_1 + gW_2 + gW_3"]
    assert got["q3.a"] == "[1, 2]" and got["q3.b"] == "zero gradient"
    assert got["q4.notebook"] == "done in the notebook"


def test_markdown_headers_and_bold():
    placed = place(document("""
# HW5
## Q1
### (a)
b, c
### b
c
**c)** c
## **Question 2**
- a) y_hat - y
- b) x
* c) y
* d) z
## 3
### الف
[1, 2]
### ب
zero
**سوال چهارم:**
notebook
"""), HW5, HW5_MANUAL)
    got = texts(placed)
    assert got["q1.a"] == "b, c" and got["q1.b"] == "c" and got["q1.c"] == "c"
    assert [got[f"q2.{p}"] for p in "abcd"] == ["y_hat - y", "x", "y", "z"]
    assert got["q3.a"] == "[1, 2]" and got["q3.b"] == "zero"
    assert got["q4.notebook"] == "notebook"


def test_latex_sections_and_textbf():
    placed = place(document(r"""
\section*{Question 1}
\textbf{(a)} b, c
\textbf{(b)} c
\item[(c)] c
\section{سوال ۲}
\subsection*{الف}
$\hat{y}_t - y_t$
\subsection*{ب}
x
\subsection{(c)}
y
\subsection{Part d}
z
\section*{Q3}
\textbf{a)} [1, 2]
\section*{Problem 4}
notebook
"""), HW5, HW5_MANUAL)
    got = texts(placed)
    assert got["q1.a"] == "b, c" and got["q1.b"] == "c" and got["q1.c"] == "c"
    assert got["q2.a"] == r"$\hat{y}_t - y_t$"
    assert got["q2.b"] == "x" and got["q2.c"] == "y" and got["q2.d"] == "z"
    assert got["q3.a"] == "[1, 2]"
    assert got["q4.notebook"] == "notebook"
    assert placed.unplaced == ["q3.b"]


def test_question_and_part_named_together():
    placed = place(document("""
Q1(a) b, c
Q1b: c
Q1.c - c
2.a y_hat - y
2-b x
2c) y
2(d) z
۳-الف [1, 2]
سوال ۳ - قسمت ب
zero
Q4
notebook
"""), HW5, HW5_MANUAL)
    got = texts(placed)
    assert got["q1.a"] == "b, c" and got["q1.b"] == "c" and got["q1.c"] == "c"
    assert [got[f"q2.{p}"] for p in "abcd"] == ["y_hat - y", "x", "y", "z"]
    assert got["q3.a"] == "[1, 2]" and got["q3.b"] == "zero"
    assert placed.answers["q3.b"].label == "سوال 3 - قسمت ب"
    assert placed.answers["q1.a"].label == "Q1(a)"


def test_persian_ordinals_digits_and_combined_persian_forms():
    placed = place(document("""
سؤال اول
الف- ب، ج
ب- ج
ج- ج
پاسخ سوال دوم
۲.الف: y_hat - y
۲.ب: x
۲-ج: y
۲-د: z
سوال سوم - تئوری
الف) [1, 2]
ب) صفر
سوال چهارم
نوتبوک
"""), HW5, HW5_MANUAL)
    got = texts(placed)
    assert got["q1.a"] == "ب، ج" and got["q1.b"] == "ج" and got["q1.c"] == "ج"  # "ب، ج" is a choice
    assert [got[f"q2.{p}"] for p in "abcd"] == ["y_hat - y", "x", "y", "z"]
    assert got["q3.a"] == "[1, 2]" and got["q3.b"] == "صفر"
    assert got["q4.notebook"] == "نوتبوک"


def test_alphabetical_persian_letters_when_pe_is_used():
    items = [(f"q1.{p}", ()) for p in "abcde"]
    alphabetical = texts(place(document("سوال ۱\nالف) 1\nب) 2\nپ) 3\nت) 4\nث) 5"), items))
    assert alphabetical == {"q1.a": "1", "q1.b": "2", "q1.c": "3", "q1.d": "4", "q1.e": "5"}
    abjad = texts(place(document("سوال ۱\nالف) 1\nب) 2\nج) 3\nد) 4\nه) 5"), items))
    assert abjad == {"q1.a": "1", "q1.b": "2", "q1.c": "3", "q1.d": "4", "q1.e": "5"}


def test_numbered_parts_and_the_seeds_numbered_headers():
    items = [(i, ()) for i in ["q1.1", "q1.2", "q1.3", "q2.a", "q2.b", "q2.c", "q3.1", "q3.2"]]
    placed = place(document("""
## سوال اول
۱. LSTM
۲. خیر
۳. دنباله‌ای است
## ۱ سوال دوم
### ۱.۱ الف
متن الف
### ۲.۱ ب
متن ب
### ۳.۱ ج
متن ج
Question 3
3.1) first
3.2) second
"""), items)
    got = texts(placed)
    assert got == {"q1.1": "LSTM", "q1.2": "خیر", "q1.3": "دنباله‌ای است", "q2.a": "متن الف", "q2.b": "متن ب",
                   "q2.c": "متن ج", "q3.1": "first", "q3.2": "second"}


def test_rubric_labels_win_over_the_generic_rules():
    items = [("q1.a", ("Choice 1a",)), ("q1.b", ("انتخاب ۱ب",)), ("q2", ("Section two",)),
             ("bonus.essay", ("Bonus essay",))]
    placed = place(document("""
CHOICE 1A: b, c
انتخاب ۱ب: ج
Section Two
the second answer
Bonus essay
my essay
"""), items)
    assert texts(placed) == {"q1.a": "b, c", "q1.b": "ج", "q2": "the second answer", "bonus.essay": "my essay"}
    assert placed.answers["q1.a"].label == "CHOICE 1A"


# --- place: what only looks like a label ----------------------------------------------------------------

def test_numbered_list_inside_an_answer_is_not_a_question():
    placed = place(document("""
1.
(a) b
(b) c
(c) c
2.
(a) y_hat - y
(b) step by step:
1. expand the recurrence
2. apply the chain rule
3. collect: W_hh^T W_yh^T
(c) y
(d) z
3.
(a) [1, 2]
(b) zero gradients
4. notebook
"""), HW5, HW5_MANUAL)
    got = texts(placed)
    assert got["q2.b"] == ("step by step:\n1. expand the recurrence\n2. apply the chain rule\n"
                           "3. collect: W_hh^T W_yh^T")
    assert got["q2.c"] == "y" and got["q3.a"] == "[1, 2]" and got["q4.notebook"] == "notebook"


def test_letter_list_inside_a_part_and_a_real_part_after_it():
    placed = place(document("""
سوال ۲
(a) three cases:
a) when t = 1
b) when t = 2
c) when t = 3
(b) x
(c) y
(d) z
"""), HW5)
    got = texts(placed)
    assert got["q2.a"] == "three cases:\na) when t = 1\nb) when t = 2\nc) when t = 3"
    assert got["q2.b"] == "x" and got["q2.c"] == "y" and got["q2.d"] == "z"


def test_part_letter_going_backwards_is_content():
    placed = place(document("""
Question 2
(a) x
(c) y, which uses
(a) from before
(d) z
"""), HW5)
    got = texts(placed)
    assert got["q2.c"] == "y, which uses\n(a) from before"
    assert got["q2.a"] == "x" and got["q2.d"] == "z" and "q2.b" in placed.unplaced


def test_labels_the_rubric_does_not_have_are_content():
    placed = place(document("""
(a) a list before any question
سوال ۱
(a) b
(e) not a part of question 1
سوال ۲ نشان داد که گرادیان محو می‌شود
(b) c
سوال ۵ (عملی)
(a) this belongs to no item
"""), HW5, HW5_MANUAL)
    got = texts(placed)
    assert got["q1.a"] == "b\n(e) not a part of question 1\nسوال 2 نشان داد که گرادیان محو می‌شود"
    assert got["q1.b"] == "c"  # and the practical question 5 ended it
    assert "q2.a" in placed.unplaced


def test_a_choice_of_several_letters_is_content_even_with_no_later_label():
    items = [("q1.a", ()), ("q1.b", ()), ("q2", ())]
    placed = place(document("سوال ۱\n(a)\nmy choice:\n(b) and (c)\nسوال ۲\nx"), items)
    assert texts(placed)["q1.a"] == "my choice:\n(b) and (c)" and "q1.b" in placed.unplaced


def test_a_bare_number_is_no_question_a_word_labels():
    items = [("q1", ()), ("q2", ()), ("q3", ())]
    placed = place(document("سوال ۱\nthe steps:\n2. the second step matters\nسوال ۲\ny\n3) z"), items)
    assert texts(placed) == {"q1": "the steps:\n2. the second step matters", "q2": "y", "q3": "z"}


def test_label_leaves_the_rest_of_its_line_intact():
    placed = place(document("Q2\n(a): -1.5\n(b) - x\nسوال ۳ - تئوری\n(الف) [1, 2]"), HW5)
    got = texts(placed)
    assert got["q2.a"] == "-1.5" and got["q2.b"] == "x" and got["q3.a"] == "[1, 2]"


def test_label_with_nothing_after_it_is_unplaced():
    placed = place(document("سوال ۱\n(الف) ب\n(ب)\n\n(ج) ج"), HW5, HW5_MANUAL)
    assert "q1.b" in placed.unplaced and "q1.b.reason" in placed.unplaced
    assert texts(placed)["q1.c"] == "ج"


# --- place: sub-answers ---------------------------------------------------------------------------------

HW3_THEORY = [(i, ()) for i in ["q1.1", "q1.3.c", "q1.3.a", "q1.4.dW_y", "q1.4.db_y", "q1.4.dW_o",
                                 "q2.shape.encoder_input", "q2.shape.logits", "q2.count.logits", "q2.count.total",
                                 "q3.1.argument", "q3.2.argument", "q5.params", "q5.structure"]]


def test_sub_answers_by_name():
    placed = place(document(r"""
سوال ۱
۱. LSTM
۳.
$c^{<t>} = \Gamma_f * c_{t-1} + \Gamma_u * \tilde{c}$
a_t = \Gamma_o * tanh(c_t)
۴.
- dW_y = (y_hat - y) a_t^T
     = dz a^T
db_y: y_hat - y
dW_o is the hardest, so:
dW_o = da * tanh(c_t) * Gamma_o * (1 - Gamma_o) ax^T
سوال ۲
encoder input: (32, 2048, 768)
logits = (32, 2048, V)
total = 1.2M
سوال ۵
params: O(N^2 D^2)
"""), HW3_THEORY, frozenset({"q1.1", "q5.structure"}))
    got = texts(placed)
    assert got["q1.3.c"] == r"$c^{<t>} = \Gamma_f * c_{t-1} + \Gamma_u * \tilde{c}$"
    assert got["q1.3.a"] == r"a_t = \Gamma_o * tanh(c_t)"
    assert got["q1.4.dW_y"] == "- dW_y = (y_hat - y) a_t^T\n= dz a^T"   # the derivation's next step too
    assert got["q1.4.db_y"] == "db_y: y_hat - y\ndW_o is the hardest, so:"  # a bare name is prose
    assert got["q1.4.dW_o"] == "dW_o = da * tanh(c_t) * Gamma_o * (1 - Gamma_o) ax^T"
    assert placed.answers["q1.4.dW_y"].label == "dW_y"
    assert got["q2.shape.encoder_input"] == "encoder input: (32, 2048, 768)"
    assert got["q2.count.total"] == "total = 1.2M"
    # "logits" names two items (shape and count): neither is guessed
    assert "q2.shape.logits" in placed.unplaced and "q2.count.logits" in placed.unplaced
    assert got["q5.params"] == "params: O(N^2 D^2)"
    assert got["q5.structure"] == "params: O(N^2 D^2)"  # manual, not found by name: the question's answer
    assert got["q1.1"] == "LSTM"
    assert "q3.1.argument" in placed.unplaced  # question 3 is not in the document


def test_sub_answer_names_shared_by_two_unlabelled_parts_are_not_guessed():
    placed = place(document("سوال ۳\nargument: because\nmore"), HW3_THEORY)
    assert "q3.1.argument" in placed.unplaced and "q3.2.argument" in placed.unplaced


def test_sub_answers_in_an_unlabelled_part_are_found_in_the_question():
    placed = place(document("سوال ۱\ndW_y = dz a^T\ndb_y = dz"), HW3_THEORY)
    assert texts(placed)["q1.4.dW_y"] == "dW_y = dz a^T" and texts(placed)["q1.4.db_y"] == "db_y = dz"


def test_sub_answer_by_its_rubric_label_and_what_it_leaves_its_part():
    items = [("q1.a", ()), ("q1.a.reason", ("دلیل",)), ("q1.b", ()), ("q1.b.reason", ("دلیل ب",))]
    placed = place(document("سوال ۱\n(a) b, c\nدلیل: خروجی یکی است\n(b) c\nدلیل ب: فقط گذشته"), items,
                   frozenset({"q1.a.reason", "q1.b.reason"}))
    got = texts(placed)
    assert got == {"q1.a": "b, c", "q1.a.reason": "دلیل: خروجی یکی است", "q1.b": "c",
                   "q1.b.reason": "دلیل ب: فقط گذشته"}


def test_sub_answer_not_found_is_unplaced_unless_a_person_reads_it():
    items = [("q1.a", ()), ("q1.a.reason", ()), ("q1.a.value", ())]
    placed = place(document("سوال ۱\n(a) b\nبه این دلیل"), items, frozenset({"q1.a.reason"}))
    assert texts(placed)["q1.a.reason"] == "b\nبه این دلیل"
    assert placed.unplaced == ["q1.a.value"]


# --- place: duplicates, declarations, pages, bounds ------------------------------------------------------

def test_a_part_labelled_twice_takes_the_later_and_says_where():
    placed = place(document("سوال ۲\nقسمت الف\nfirst try", "قسمت ب\nx\nقسمت الف\nsecond try"), HW5)
    assert texts(placed)["q2.a"] == "second try" and texts(placed)["q2.b"] == "x"
    assert any("labelled twice" in w and "page 1, line 2" in w and "page 2, line 3" in w for w in placed.warnings)


def test_a_question_labelled_twice_takes_the_later_and_says_where():
    placed = place(document("سوال ۴\nold notebook", "Question 3\n(a) v\nسوال ۴\nnew notebook"), HW5, HW5_MANUAL)
    assert texts(placed)["q4.notebook"] == "new notebook"
    assert any("question 4 is labelled twice (page 1, line 1 and page 2, line 3)" in w for w in placed.warnings)


def test_answers_know_their_pages_and_regions():
    lines = [Line("سوال ۳", 1, 0.80, 0.82), Line("(a) [1,", 1, 0.85, 0.87), Line("2]", 2, 0.05, 0.07),
             Line("(b) zero", 2, 0.10, 0.12)]
    answer = place(lines, HW5).answers["q3.a"]
    assert isinstance(answer, Placed) and answer.text == "[1,\n2]" and answer.pages == [1, 2]
    assert answer.region(1) == (0.85, 0.87) and answer.region(2) == (0.05, 0.07) and answer.region(3) is None
    assert place(document("سوال ۳\n(a) v"), HW5).answers["q3.a"].region(1) is None  # no positions: no region


def test_page_declaration_formats():
    declared, warnings = read_page_declaration("""
q1: 1-2
q2.b: 3
Q3 = 4, 5
سوال ۴: صفحه ۶
pages: q2.a=7; q2.c = 8 - 9, q2.d: 10
""", HW5_IDS)
    assert declared == {"q1.a": [1, 2], "q1.a.reason": [1, 2], "q1.b": [1, 2], "q1.b.reason": [1, 2],
                        "q1.c": [1, 2], "q1.c.reason": [1, 2], "q2.a": [7], "q2.b": [3], "q2.c": [8, 9],
                        "q2.d": [10], "q3.a": [4, 5], "q3.b": [4, 5], "q4.notebook": [6]}
    assert warnings == []


def test_page_declaration_warns_about_what_it_cannot_read():
    declared, warnings = read_page_declaration("q9: 3\nhello there\nq2.a: two\nq3: 5-1\nسوال ۲ ب: ص ۱۱", HW5_IDS)
    assert declared == {"q2.b": [11]}
    assert len(warnings) == 4
    assert "line 1" in warnings[0] and "q9" in warnings[0]
    assert "line 2" in warnings[1] and "line 3" in warnings[2] and "line 4" in warnings[3]


def test_page_declaration_inside_the_document():
    placed = place(document("صفحات: q1=1; q3=2\nسوال ۳\n(a) v\npages: q4=3"), HW5, HW5_MANUAL)
    assert placed.declared_pages["q3.b"] == [2] and placed.declared_pages["q4.notebook"] == [3]
    assert texts(placed)["q3.a"] == "v"  # the declaration is no part of an answer


def test_a_huge_document_is_capped_and_says_so():
    lines = document("سوال ۳\n(a) v\n(b) w") + [Line("ادامه", 1)] * (MAX_LINES + 5_000)
    placed = place(lines, HW5)
    assert any(f"the documents hold {MAX_LINES + 5_003} lines; only the first {MAX_LINES}" in w
               for w in placed.warnings)
    assert texts(placed)["q3.a"] == "v" and len(placed.answers["q3.b"].lines) == MAX_LINES - 2


def test_a_hostile_document_costs_a_bounded_time_and_warnings():
    lines = [Line(text, 1) for text in ["سوال ۳", "(a) v", "(b)", "1.", "b)", "(b) (c)", "Q3", ""]] * 150_000
    started = time.perf_counter()
    placed = place(lines, HW5)
    assert time.perf_counter() - started < 5
    assert any(f"only the first {MAX_LINES}" in w for w in placed.warnings)
    assert len(placed.warnings) <= 51


def test_placing_a_long_document_is_fast():
    page = document("""
سوال ۱
(الف) ب، ج
این یک خط از پاسخ است که در آن W_hh آمده و ادامه دارد
$$\\frac{\\partial J}{\\partial W} = x$$
1. first
2. second
(ب) ج
a) a list
b) more of it
(ج) ج
""")
    lines = [Line(line.text, number // 50 + 1) for number, line in enumerate(page * 500)]
    assert len(lines) == 5_000
    best = min(_timed(lambda: place(lines, HW5, HW5_MANUAL)) for _ in range(3))
    assert best < 0.25, f"{best * 1000:.0f} ms for 5,000 lines"  # about 20 ms here; a quadratic step takes seconds


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


@pytest.mark.parametrize("line", ["", "   ", "(", "#", "**", "\\section*{", "سوال", "Q", "2", "2.", "(((((", "ب"])
def test_odd_lines_do_not_break_placement(line):
    placed = place([Line(line, 1), Line("Q3", 1), Line("(a) v", 1)], HW5)
    assert texts(placed)["q3.a"] == "v"
