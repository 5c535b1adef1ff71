// The QR code that opens the kiosk's route on a visitor's phone: the same page with the destination, start and
// mode in its address (qrcode-generator from npm, drawn as SVG so it stays sharp at any size).
import qrcode from 'qrcode-generator';

// Where a phone reaches this server: site.public_url (from /api/health) when the site sets it, else the address
// the kiosk itself uses.
export function qrBase(publicUrl, origin = location.origin) {
  return (publicUrl || origin).replace(/\/+$/, '');
}

// An address only this machine can open (a kiosk browsing http://127.0.0.1:8000): a phone cannot follow it.
export function isLoopback(url) {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1';
}

// The page's address for this route: /visitor?to=..&from=..&mode=..&lang=.. under ``origin`` (qrBase()).
export function routeUrl({ to, from, mode, lang }, origin = location.origin) {
  const params = new URLSearchParams();
  if (to) params.set('to', to);
  if (from) params.set('from', from);
  if (mode && mode !== 'walk') params.set('mode', mode);
  if (lang) params.set('lang', lang);
  return `${origin}/visitor?${params}`;
}

// An <svg> of ``text`` (type 0: the smallest version that holds it; level M survives a scuffed screen).
export function qrSvg(text, title) {
  const code = qrcode(0, 'M');
  code.addData(text, 'Byte');
  code.make();
  const holder = document.createElement('div');
  holder.innerHTML = code.createSvgTag({ cellSize: 4, margin: 8, scalable: true, title });
  const svg = holder.firstElementChild;
  svg.dataset.modules = String(code.getModuleCount());
  return svg;
}
