// Number, time and money formatting in the chosen language.
import { lang } from './i18n.js';

export function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return new Intl.NumberFormat(lang(), { maximumFractionDigits: digits }).format(n);
}

export function usd(n) {
  if (n === null || n === undefined) return '—';
  const digits = n !== 0 && Math.abs(n) < 0.01 ? 6 : n < 100 ? 4 : 2;
  return '$' + new Intl.NumberFormat('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 2 }).format(n);
}

export function ms(n) {
  if (n === null || n === undefined) return '—';
  if (n >= 10000) return num(n / 1000, 1) + ' s';
  return num(n, n < 10 ? 1 : 0) + ' ms';
}

export function time(t) {
  if (!t) return '—';
  const d = new Date(t);
  return d.toLocaleTimeString(lang(), { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export function dateTime(t) {
  if (!t) return '—';
  return new Date(t).toLocaleString(lang(), { hour12: false });
}

export function tokens(u) {
  if (!u) return 0;
  return (u.input_tokens || 0) + (u.output_tokens || 0);
}
