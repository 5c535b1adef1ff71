// Forms that survive a panel's redraw. Panels redraw whenever the hall changes (an alarm's transition, a work
// order moved by someone else); a form the user is typing in is kept as the same element, so its text stays, and
// the focus and caret it had are given back after the redraw.

export class KeptForms {
  constructor() { this.forms = new Map(); }

  // The form under ``key``, made by ``make()`` the first time it is asked for.
  get(key, make) {
    let form = this.forms.get(key);
    if (!form) {
      form = make();
      this.forms.set(key, form);
    }
    return form;
  }

  drop(key) { this.forms.delete(key); }

  clear() { this.forms.clear(); }
}

// Call before a redraw builds anything (moving a kept form into the new drawing already takes its focus away);
// call what it returns after: the element that had the focus gets it back, caret included, if it is still shown.
export function keepFocus() {
  const active = document.activeElement;
  if (!active || active === document.body) return () => {};
  const caret = typeof active.selectionStart === 'number' ? [active.selectionStart, active.selectionEnd] : null;
  return () => {
    if (!active.isConnected || document.activeElement === active) return;
    active.focus();
    if (caret) active.setSelectionRange(...caret);
  };
}
