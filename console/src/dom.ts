// Small DOM helpers: elements from a tag, attributes and children; modal dialogs; errors as text.

import { KvError } from '../../packages/client/src';

export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Record<string, AttrValue | ((event: Event) => void)>;

/**
 * An element: `on<event>` attributes become listeners, `true` an empty attribute, `false`/`null`/
 * `undefined` nothing. Text children are text nodes, never HTML.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

let ids = 0;
/** A page-unique id, for label/aria-labelledby pairs. */
export function uid(prefix: string): string {
  return `${prefix}-${++ids}`;
}

/** A labelled field: `<label>` then the control, in a wrapper for layout. */
export function field(label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string): HTMLElement {
  control.id ||= uid('field');
  const hintId = hint ? uid('hint') : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
}

/** A checkbox (or radio) with its label after it. */
export function check(label: string, control: HTMLInputElement): HTMLElement {
  control.id ||= uid('check');
  return h('div', { class: 'check' }, control, h('label', { for: control.id }, label));
}

/** What an error says to a person: the API's code and message, or the error's own message. */
export function describeError(error: unknown): string {
  if (error instanceof KvError) {
    const details = error.details.map((detail) => `${detail.path} ${detail.message}`).join('; ');
    return `${error.code}: ${error.message}${details ? ` (${details})` : ''}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * A modal dialog named by its title: `<dialog>` with showModal, so the rest of the page is inert
 * (the focus stays inside) and Escape closes it. Resolves true when confirmed, false on Cancel or
 * Escape; the focus then goes back where it was. `canConfirm`, checked on every input in the
 * dialog, keeps the confirm button disabled until it says yes.
 */
export function openDialog(options: {
  title: string;
  body?: Child[];
  confirm: string;
  danger?: boolean;
  /** Focused first; defaults to Cancel. */
  initialFocus?: HTMLElement;
  /** Called on input inside the dialog: whether the confirm button is enabled. */
  canConfirm?: () => boolean;
}): Promise<boolean> {
  const titleId = uid('dialog-title');
  const previous = document.activeElement as HTMLElement | null;
  const confirmButton = h('button', { type: 'submit', value: 'confirm', class: options.danger ? 'danger' : 'primary' }, options.confirm);
  const cancelButton = h('button', { type: 'button' }, 'Cancel');
  const form = h('form', { method: 'dialog' }, ...(options.body ?? []), h('div', { class: 'actions' }, confirmButton, cancelButton));
  const dialog = h('dialog', { 'aria-labelledby': titleId, class: 'dialog' }, h('h2', { id: titleId }, options.title), form);
  const update = () => {
    if (options.canConfirm) confirmButton.disabled = !options.canConfirm();
  };
  form.addEventListener('input', update);
  update();
  document.body.append(dialog);
  return new Promise((resolve) => {
    let result = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (confirmButton.disabled) return;
      result = true;
      dialog.close();
    });
    cancelButton.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (previous?.isConnected) previous.focus();
      resolve(result);
    });
    dialog.showModal();
    (options.initialFocus ?? cancelButton).focus();
  });
}

/** Numbers as people read them: 10,000. */
export const formatNumber = (value: number): string => value.toLocaleString('en-US');

/** A time as a short local date and time. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A countdown: "59 s", "1 min 5 s", "2 h 3 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return seconds > 0 ? `${minutes} min ${seconds} s` : `${minutes} min`;
  return `${seconds} s`;
}
