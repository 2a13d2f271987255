"""JUnit XML, which every CI reads: one testcase per item; a lost point is a failure with the
feedback, an item that could not run an error, a manual item skipped."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from .model import Report
from .text import clean, item_points, points


def render(report: Report) -> str:
    suite_name = report.assignment.get("id", "dlgrade")
    automatic = [i for i in report.items if i.status != "manual"]
    failures = sum(i.status not in ("passed", "error", "grader_error") and i.score < i.points for i in automatic)
    errors = sum(i.status in ("error", "grader_error") for i in automatic)
    suites = ET.Element("testsuites", name="dlgrade", tests=str(len(report.items)), failures=str(failures),
                        errors=str(errors), time=f"{report.duration_s:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=suite_name, tests=str(len(report.items)), failures=str(failures),
                          errors=str(errors), skipped=str(len(report.items) - len(automatic)),
                          time=f"{report.duration_s:.3f}")
    properties = ET.SubElement(suite, "properties")
    student = report.student
    for name, value in (("student", " ".join(p for p in (student.first, student.last) if p)),
                        ("student_id", student.student_id or ""), ("file", report.submission.file),
                        ("score", "not graded (grader fault)" if report.grader_error
                         else f"{points(report.total.score)}/{points(report.total.max)}")):
        ET.SubElement(properties, "property", name=name, value=clean(value, 300))
    for item in report.items:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=clean(f"{item.id}: {item.title}", 300),
                             time=f"{item.duration_s:.3f}")
        feedback = clean(item.feedback, 20000)
        summary = f"{item_points(item)} points"
        if item.status == "manual":
            ET.SubElement(case, "skipped", message=f"graded by a TA ({points(item.points)} points)")
        elif item.status in ("error", "grader_error"):  # a grader fault is the CI's error, never a failed test
            ET.SubElement(case, "error", message=clean(f"{summary}: {feedback}", 500), type=item.status).text = feedback
        elif item.score < item.points:
            ET.SubElement(case, "failure", message=clean(f"{summary}: {feedback}", 500), type=item.status).text = feedback
        else:
            ET.SubElement(case, "system-out").text = f"{summary}: {feedback}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")
