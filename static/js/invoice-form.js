// The invoice draft and rectification forms: "Añadir línea" clones the formset's empty form,
// a ticked "Quitar" greys its row, and the third-party fields show only when they apply.
// Loaded as a file (the Content-Security-Policy allows no inline script); without
// JavaScript the form still posts and validates on the server.
document.querySelectorAll("[data-lines]").forEach((body) => {
  const form = body.closest("form");
  const total = form.querySelector('input[name$="-TOTAL_FORMS"]');
  const template = form.querySelector("#line-template");
  form.querySelector("[data-add-line]").addEventListener("click", () => {
    const index = Number(total.value);
    body.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, index));
    total.value = index + 1;
    body.lastElementChild.querySelector("input")?.focus();
  });
  form.addEventListener("change", (event) => {
    if (event.target.matches('input[name$="-DELETE"]')) {
      event.target.closest("tr").classList.toggle("removed", event.target.checked);
    }
  });
  form.querySelectorAll('input[name$="-DELETE"]:checked').forEach((box) => box.closest("tr").classList.add("removed"));
});

const issuedBy = document.getElementById("id_issued_by");
if (issuedBy) {
  const show = () => document.querySelectorAll("[data-third-party]").forEach((el) => {
    el.hidden = issuedBy.value !== "third_party";
  });
  issuedBy.addEventListener("change", show);
  show();
}
