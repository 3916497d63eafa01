// The reference page's "Send" forms: each calls its operation with the token typed at
// the top (kept in sessionStorage: this tab only) and shows the answer.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const token = document.getElementById("token");
  token.value = sessionStorage.getItem("abonent-api-token") || "";
  token.addEventListener("change", () => sessionStorage.setItem("abonent-api-token", token.value));

  for (const form of document.querySelectorAll("form.try")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      let path = form.dataset.path;
      const query = new URLSearchParams();
      for (const input of form.querySelectorAll("input[data-in]")) {
        if (input.value === "") continue;
        if (input.dataset.in === "path") {
          path = path.replace("{" + input.name + "}", encodeURIComponent(input.value));
        } else {
          query.append(input.name, input.value);
        }
      }
      const options = {method: form.dataset.method,
                       headers: {"Authorization": "Bearer " + token.value}};
      const body = form.querySelector("textarea[name=body]");
      if (body) {
        options.body = body.value;
        options.headers["Content-Type"] = "application/json";
      }
      const shown = form.querySelector("pre.answer");
      const answer = await fetch(path + (query.size ? "?" + query : ""), options);
      const text = await answer.text();
      let pretty = text;
      try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
      shown.textContent = answer.status + " " + answer.statusText + "\n" + pretty;
      shown.hidden = false;
    });
  }
});
