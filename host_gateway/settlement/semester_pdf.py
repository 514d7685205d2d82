"""The semester report as a PDF with charts (matplotlib), drawn from the same dict as the JSON
and CSV (:mod:`host_gateway.settlement.semester`), so the numbers cannot differ."""

from __future__ import annotations

import io
from typing import Any

from host_gateway.display import rupiah
from host_gateway.settlement import semester


def _rupiah(value: int) -> str:
    return f"{rupiah(value)}"


def documents(report: dict[str, Any]) -> dict[str, bytes]:
    """The report's three files by name (``laporan-ssn-2026-S2.json``, ``.csv``, ``.pdf``), for
    the CLI and the console alike."""
    return {
        semester.file_name(report, "json"): semester.to_json(report),
        semester.file_name(report, "csv"): semester.to_csv(report),
        semester.file_name(report, "pdf"): render(report),
    }


def render(report: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    out = io.BytesIO()
    with PdfPages(out, metadata={"Title": f"Laporan semester SSN {report['semester']}"}) as pdf:
        pdf.savefig(_summary_page(plt, report))
        pdf.savefig(_months_page(plt, report))
        plt.close("all")
    return out.getvalue()


def _summary_page(plt: Any, report: dict[str, Any]) -> Any:
    figure = plt.figure(figsize=(8.27, 11.69))  # A4
    figure.text(0.08, 0.95, f"Laporan semester SSN {report['semester']}", fontsize=16)
    figure.text(0.08, 0.92, f"{report['from']} s.d. {report['to']} (Perwali 58/2022)")
    lines = []
    for p in report["programs"]:
        lines.append(
            f"{p['program']}: terdaftar {p['registered']}, dilayani {p['served']}, "
            f"dimuat {_rupiah(p['loaded'])}, dibelanjakan {_rupiah(p['spent'])}, "
            f"kedaluwarsa {_rupiah(p['expired'])}"
        )
    payouts = report["payouts"]
    lines.append(
        f"Pembayaran ke toko: dibayar {_rupiah(payouts['paid'])}, terbuka "
        f"{_rupiah(payouts['open'])}, ditolak bank {_rupiah(payouts['rejected'])}"
    )
    for i, line in enumerate(lines):
        figure.text(0.08, 0.87 - 0.03 * i, line, fontsize=9)
    axes = figure.add_axes((0.12, 0.1, 0.8, 0.45))
    programs = [p["program"] for p in report["programs"]]
    width = 0.25
    for offset, measure in enumerate(("loaded", "spent", "expired")):
        axes.bar(
            [i + (offset - 1) * width for i in range(len(programs))],
            [p[measure] for p in report["programs"]],
            width,
            label={"loaded": "dimuat", "spent": "dibelanjakan", "expired": "kedaluwarsa"}[measure],
        )
    axes.set_xticks(range(len(programs)), programs)
    axes.set_ylabel("rupiah")
    axes.set_title("Bantuan dimuat, dibelanjakan, kedaluwarsa per program")
    axes.legend()
    return figure


def _months_page(plt: Any, report: dict[str, Any]) -> Any:
    figure, axes = plt.subplots(figsize=(8.27, 11.69))
    totals: dict[str, dict[str, int]] = {}
    for row in report["sales"]:
        by_month = totals.setdefault(row["program"], {})
        by_month[row["month"]] = by_month.get(row["month"], 0) + row["amount"]
    months = sorted({row["month"] for row in report["sales"]})
    bottom = [0] * len(months)
    for program, by_month in sorted(totals.items()):
        values = [by_month.get(m, 0) for m in months]
        axes.bar(months, values, bottom=bottom, label=program)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_title("Belanja per bulan dan program (rupiah)")
    axes.legend()
    return figure
