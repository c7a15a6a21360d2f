import { act, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';

import { CourseModel } from '../state';
import { IPanelActions } from '../widgets/actions';
import { CourseView } from '../widgets/CourseView';
import { FakeAPI, program, session } from './fixtures';

const PROBLEM =
  "This session's folder (course/dask) needs repair: Its git data is damaged. " +
  'Open the session again to repair it: your folder is moved to a backup folder ' +
  'beside it (all your files stay there) and fresh copies are brought.';

describe('a broken session', () => {
  it('is shown with its problem and a way out, the others as usual', async () => {
    const api = new FakeAPI();
    api.programValue = program([
      session({ opened: true, state: 'broken', problem: PROBLEM }),
      session({ id: 'spark', title: 'Spark', opened: true, state: 'opened' })
    ]);
    const model = new CourseModel(api);
    const opened: string[] = [];
    const actions: IPanelActions = {
      openNotebook: async path => {
        opened.push(path);
      },
      insertCode: async () => undefined,
      openDashboard: () => undefined,
      confirmStop: async () => true,
      saveIfDirty: async () => undefined
    };
    render(<CourseView model={model} actions={actions} />);
    await act(async () => {
      await model.refreshProgram();
    });

    expect(screen.getByText(PROBLEM)).toBeTruthy();
    expect(screen.getAllByText('needs repair')).toHaveLength(1);
    const repair = screen.getByRole('button', { name: 'Open session Dask hands on' });
    expect(repair.textContent).toBe('Repair and open');
    expect(screen.getByRole('button', { name: 'Open session Spark' }).textContent).toBe(
      'Open again'
    );

    await act(async () => {
      fireEvent.click(repair);
    });
    expect(api.calls).toContain('open:dask');
    expect(opened).toEqual(['course/dask/check.ipynb']);
  });
});
