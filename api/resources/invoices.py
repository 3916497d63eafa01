"""Invoices (read: issued by the monthly run or the admin) with their lines, and each as a
document, the invoice or the act, in printable HTML or PDF: the same rendering as the
admin's Print and PDF links and the mailed attachments (core.documents, core.pdf)."""
from __future__ import annotations

from flask import Response
from sqlalchemy.orm import selectinload

from admin.headers import document_policy
from api.blueprint import ApiBlueprint, dumped, found, page, select_given, transaction
from api.schemas import page_of
from api.schemas_billing import DocumentQuery, InvoiceOut, InvoiceQuery
from core import documents, pdf
from core.invoicing import parse_period
from core.models import Invoice

blp = ApiBlueprint("invoices", "Invoices, their lines and their documents (HTML, PDF)")

DOCUMENT = {"type": "string", "format": "binary"}


@blp.route("/invoices", methods=["GET"])
@blp.operation("invoices:view", 422)
@blp.arguments(InvoiceQuery, location="query")
@blp.response(200, page_of(InvoiceOut, "InvoicePage"))
def list_invoices(args):
    query = select_given(Invoice, args, "contract_id", "number").options(
        selectinload(Invoice.lines))
    if "period" in args:
        query = query.where(Invoice.period_start == parse_period(args["period"]))
    with transaction() as session:
        return page(session, query, Invoice.id, args, InvoiceOut())


@blp.route("/invoices/<int:invoice_id>", methods=["GET"])
@blp.operation("invoices:view", 404)
@blp.response(200, InvoiceOut)
def get_invoice(invoice_id):
    with transaction() as session:
        return dumped(InvoiceOut(), found(session, Invoice, invoice_id, "invoice"))


@blp.route("/invoices/<int:invoice_id>/document.html", methods=["GET"])
@blp.operation("invoices:view", 404, 422)
@blp.arguments(DocumentQuery, location="query")
@blp.response(200, DOCUMENT, content_type="text/html",
              description="the printable document (A4), styled inline")
def get_invoice_html(args, invoice_id):
    with transaction() as session:
        found(session, Invoice, invoice_id, "invoice")
        html = documents.render_html(session, invoice_id, args["kind"])
    return Response(html, mimetype="text/html",
                    headers={"Content-Security-Policy": document_policy(html)})


@blp.route("/invoices/<int:invoice_id>/document.pdf", methods=["GET"])
@blp.operation("invoices:view", 404, 422)
@blp.arguments(DocumentQuery, location="query")
@blp.response(200, DOCUMENT, content_type="application/pdf", description="the document as PDF")
def get_invoice_pdf(args, invoice_id):
    with transaction() as session:
        number = found(session, Invoice, invoice_id, "invoice").number
        data = pdf.invoice_pdf(session, invoice_id, args["kind"])
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{args["kind"]}-{number}.pdf"'})
