// Settings → API tokens: the "Copiar" button of the page that shows a new token once.
// Without JavaScript (or the Clipboard API) the field is still there to select and copy.
document.querySelectorAll("[data-copy-target]").forEach((button) => {
  const field = document.getElementById(button.dataset.copyTarget);
  const status = button.parentElement.querySelector("[data-copy-status]");
  if (!field) return;
  button.hidden = false;
  field.addEventListener("focus", () => field.select());
  button.addEventListener("click", async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      if (status) status.textContent = "Copiado al portapapeles.";
    } catch (error) {
      if (status) status.textContent = "No se pudo copiar: selecciónelo y pulse Ctrl+C.";
    }
  });
});
