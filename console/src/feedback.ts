// The page's one alert (errors, with the API's code) and one status line (notices).

import { describeError, h, replace } from './dom';

export class Feedback {
  constructor(
    private readonly alertElement: HTMLElement,
    private readonly noticeElement: HTMLElement,
  ) {}

  /** Shows an error in the alert (role=alert, so screen readers announce it). */
  error(error: unknown): void {
    const dismiss = h('button', { type: 'button', class: 'link', onclick: () => this.clearError() }, 'Dismiss');
    replace(this.alertElement, h('span', null, typeof error === 'string' ? error : describeError(error)), ' ', dismiss);
    this.alertElement.hidden = false;
  }

  clearError(): void {
    this.alertElement.hidden = true;
    this.alertElement.replaceChildren();
  }

  /** A non-error notice (role=status): "Saved", "Copied". */
  notice(text: string): void {
    this.noticeElement.textContent = text;
    this.noticeElement.hidden = text === '';
  }

  /** Clears both: a new action starts. */
  clear(): void {
    this.clearError();
    this.notice('');
  }

  /**
   * Runs a user action: clears the last error and notice, shows an error it throws, and keeps the
   * button that started it disabled meanwhile (no double submits).
   */
  async run(action: () => Promise<void>, busy?: HTMLButtonElement | null): Promise<void> {
    this.clear();
    if (busy) busy.disabled = true;
    try {
      await action();
    } catch (error) {
      this.error(error);
    } finally {
      if (busy) busy.disabled = false;
    }
  }
}
