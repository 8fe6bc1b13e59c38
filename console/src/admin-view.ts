// Admin: accounts (list, create, limits, delete) and their API keys (create, shown once; revoke).

import type { KvAdmin } from '../../packages/client/src';
import { h } from './dom';
import type { Feedback } from './feedback';

export class AdminView {
  readonly element: HTMLElement;

  constructor(
    private readonly admin: KvAdmin,
    private readonly feedback: Feedback,
  ) {
    this.element = h('section', { class: 'panel', 'aria-labelledby': 'admin-title' }, h('h1', { id: 'admin-title' }, 'Admin'));
    void this.admin;
    void this.feedback;
  }
}
