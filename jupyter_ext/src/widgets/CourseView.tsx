import React from 'react';

import { CourseModel } from '../state';
import { IPanelActions } from './actions';
import { Clusters } from './Clusters';
import { Sessions } from './Sessions';
import { useModel } from './useModel';

/** The whole panel: the program, then the clusters. */
export function CourseView(props: {
  model: CourseModel;
  actions: IPanelActions;
}): JSX.Element {
  const { model, actions } = props;
  useModel(model);
  return (
    <div className="jp-Course-panel">
      <header className="jp-Course-header">
        <h2>{model.program?.course.title ?? 'Course'}</h2>
      </header>
      <Sessions model={model} actions={actions} />
      <Clusters model={model} actions={actions} />
    </div>
  );
}
