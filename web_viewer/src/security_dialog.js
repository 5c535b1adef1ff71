// One confirmation dialog for the desk's consequential actions (unlock a door, reset a latched alarm): what will
// happen, the fields it needs (a reason), and the server's refusal shown in the dialog, which then stays open.

export class ConfirmDialog {
  constructor(dialog, i18n) {
    this.dialog = dialog;
    this.i18n = i18n;
    this.title = dialog.querySelector('.confirm-title');
    this.body = dialog.querySelector('.confirm-body');
    this.error = dialog.querySelector('.confirm-error');
    this.ok = dialog.querySelector('[data-testid=confirm-ok]');
    this.action = null;
    dialog.querySelector('form').addEventListener('submit', (event) => {
      if (event.submitter?.value !== 'ok') return; // cancel closes
      event.preventDefault();
      this.run();
    });
  }

  // fields: nodes of the form; action(form): a promise (rejects with the reason to show)
  open({ title, fields = [], okText, action }) {
    this.title.textContent = title;
    this.body.replaceChildren(...fields);
    this.ok.textContent = okText;
    this.ok.disabled = false;
    this.error.hidden = true;
    this.action = action;
    this.i18n.apply(this.dialog);
    this.dialog.showModal();
    this.body.querySelector('input, select, textarea')?.focus();
  }

  async run() {
    const form = this.dialog.querySelector('form');
    if (!form.reportValidity()) return;
    this.ok.disabled = true;
    try {
      await this.action(form);
      this.dialog.close('ok');
    } catch (error) {
      this.error.textContent = String(error.message ?? error);
      this.error.hidden = false;
    } finally {
      this.ok.disabled = false;
    }
  }
}
