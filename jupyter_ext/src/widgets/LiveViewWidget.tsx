import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { LiveModel } from '../live';
import { LiveView } from './LiveView';

/** The live view as a Lab widget (index.ts puts it in a MainAreaWidget). */
export class LiveViewWidget extends ReactWidget {
  constructor(readonly live: LiveModel) {
    super();
    this.addClass('jp-Course-liveViewWidget');
  }

  protected render(): JSX.Element {
    return <LiveView live={this.live} />;
  }
}
