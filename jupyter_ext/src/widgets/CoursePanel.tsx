import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React from 'react';

import { CourseModel } from '../state';
import { IPanelActions } from './actions';
import { CourseView } from './CourseView';

/** The left-sidebar widget; polls only while it is visible. */
export class CoursePanel extends ReactWidget {
  constructor(
    readonly model: CourseModel,
    private readonly _actions: IPanelActions
  ) {
    super();
    this.id = 'course-hub-panel';
    this.addClass('jp-Course');
  }

  protected render(): JSX.Element {
    return <CourseView model={this.model} actions={this._actions} />;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this.model.setVisible(true);
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setVisible(false);
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
