// Ask before a form with a financial or service effect is sent: <form data-confirm="…">.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
// A select with data-reload reloads the page with its value in the query string
// (the account form shows the extra fields of the chosen agent's type).
document.addEventListener("change", function (event) {
  var name = event.target.getAttribute && event.target.getAttribute("data-reload");
  if (!name) { return; }
  var url = new URL(window.location.href);
  url.searchParams.set(name, event.target.value);
  var form = event.target.form;
  if (form) {
    ["login", "contract_id", "tariff_id"].forEach(function (key) {
      if (form.elements[key] && form.elements[key].value) { url.searchParams.set(key, form.elements[key].value); }
    });
  }
  window.location.href = url.toString();
});
// An input with data-select-on-click selects its whole text when clicked (a link to copy);
// the pages carry no inline handlers: the Content-Security-Policy would refuse them.
document.addEventListener("click", function (event) {
  if (event.target.hasAttribute && event.target.hasAttribute("data-select-on-click")) {
    event.target.select();
  }
});
// Links that only carry a script (href="javascript:void(0)": dropdowns, Flask-Admin's
// filters) do their work in listeners; following the href itself is refused by the CSP.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[href^='javascript:']");
  if (link) { event.preventDefault(); }
}, true);
