import React from 'react';

import { ClassAPI } from '../classview';
import { CourseModel } from '../state';
import { IPanelActions } from './actions';
import { ClassView } from './ClassView';
import { Clusters } from './Clusters';
import { LiveQuestion } from './LiveQuestion';
import { LiveQuiz } from './LiveQuiz';
import { PrepareClass } from './PrepareClass';
import { Sessions } from './Sessions';
import { useModel } from './useModel';

/** The whole panel: the live question (or, teachers, the live quiz), the program, the clusters. */
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
      <LiveQuestion live={model.live} />
      <LiveQuiz model={model} actions={actions} />
      <PrepareClass model={model} />
      <Sessions model={model} actions={actions} />
      <Clusters model={model} actions={actions} />
      {model.me?.teacher && (
        <ClassView
          api={actions.classAPI ?? ClassAPI}
          confirm={actions.confirmAction ?? (async () => false)}
        />
      )}
    </div>
  );
}
