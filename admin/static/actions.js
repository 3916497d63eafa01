// Flask-Admin's bulk actions ("With selected" on a list) without inline handlers: an item
// with data-model-action runs that action on the ticked rows (admin/templates/admin/actions.html).
document.addEventListener("click", function (event) {
  var item = event.target.closest && event.target.closest("[data-model-action]");
  if (item && window.modelActions) {
    event.preventDefault();
    window.modelActions.execute(item.getAttribute("data-model-action"));
  }
});
