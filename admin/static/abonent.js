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
