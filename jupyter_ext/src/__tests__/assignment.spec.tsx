import { act, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';

import {
  assignmentPhase,
  formatClock,
  formatSize,
  formatTimeLeft,
  receiptLine
} from '../format';
import { ISession } from '../model';
import { CourseModel } from '../state';
import { IPanelActions } from '../widgets/actions';
import { CourseView } from '../widgets/CourseView';
import { assignment, FakeAPI, program, receipt, session } from './fixtures';

function presentSession(over: Partial<ISession> = {}): ISession {
  const base = session();
  return session({
    opened: true,
    notebooks: [{ ...base.notebooks[0], present: true }],
    assignment: assignment(),
    ...over
  });
}

async function setup(api: FakeAPI) {
  const model = new CourseModel(api);
  const log: string[] = [];
  const actions: IPanelActions = {
    openNotebook: async path => {
      log.push(`open ${path}`);
    },
    insertCode: async () => undefined,
    openDashboard: () => undefined,
    confirmStop: async () => true,
    saveIfDirty: async path => {
      log.push(`save ${path}`);
    }
  };
  render(<CourseView model={model} actions={actions} />);
  await act(async () => {
    await model.loadMe();
    await model.refreshProgram();
  });
  return { model, log };
}

describe('hand-in helpers', () => {
  it('says sizes, times and time left as people read them', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(8_300)).toBe('8.3 kB');
    expect(formatSize(830_000)).toBe('830 kB');
    expect(formatSize(2_100_000)).toBe('2.1 MB');
    expect(formatTimeLeft(2 * 86400 + 3 * 3600 + 50)).toBe('2 d 3 h');
    expect(formatTimeLeft(3600 + 5 * 60 + 9)).toBe('1 h 05 min');
    expect(formatTimeLeft(4 * 60 + 9.7)).toBe('4 min 09 s');
    expect(formatTimeLeft(-3)).toBe('0 min 00 s');
    const r = receipt();
    expect(receiptLine(r)).toBe(`Handed in ${formatClock(r.received)}, 2.1 MB`);
    expect(receiptLine({ ...r, late: true })).toMatch(/, late$/);
    expect(formatClock('2027-01-15T13:02:11Z')).toMatch(/^\d\d:02:11$/);
  });

  it('counts down from the service clock: open, then late or closed', () => {
    const open = assignment(10);
    expect(assignmentPhase(open, 4)).toEqual({ phase: 'open', secondsLeft: 6 });
    expect(assignmentPhase(open, 11).phase).toBe('closed');
    const late = assignment(10, {
      accepts_late: true,
      late_until_utc: new Date(Date.parse(open.deadline_utc) + 60_000).toISOString()
    });
    expect(assignmentPhase(late, 11).phase).toBe('late');
    expect(assignmentPhase(late, 71).phase).toBe('closed');
    expect(assignmentPhase({ ...late, late_until_utc: null }, 1e6).phase).toBe('late');
    expect(assignmentPhase({ ...open, open: false }, 0).phase).toBe('closed');
  });
});

describe('an assignment in the Course panel', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('shows the deadline in both time zones and the time left, ticking', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    const api = new FakeAPI();
    api.programValue = program([presentSession()]);
    await setup(api);
    expect(screen.getByText('Assignment')).toBeTruthy();
    expect(screen.getByText(/\(your time\)/).textContent).toMatch(/\(Europe\/Paris\)/);
    expect(screen.getByRole('timer').textContent).toBe('2 h 13 min left');
    await act(async () => {
      jest.advanceTimersByTime(61_000);
    });
    expect(screen.getByRole('timer').textContent).toBe('2 h 11 min left');
    expect(api.calls).toContain('handins:dask');
  });

  it('saves the open notebook, hands it in and shows the receipt', async () => {
    const api = new FakeAPI();
    api.programValue = program([presentSession()]);
    const { log } = await setup(api);
    api.handinsValue = { assignment: assignment(), handins: [receipt()] };
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Hand in check.ipynb' }));
    });
    expect(log).toEqual(['save course/dask/check.ipynb']);
    expect(api.calls).toContain('handin:dask:check.ipynb');
    expect(screen.getByRole('status').textContent).toBe(receiptLine(receipt()));
    expect(screen.getByRole('status').textContent).toMatch(
      /^Handed in \d\d:02:11, 2.1 MB$/
    );
  });

  it('lists the earlier receipts under the latest', async () => {
    const api = new FakeAPI();
    api.programValue = program([presentSession()]);
    api.handinsValue = {
      assignment: assignment(),
      handins: [
        receipt({ id: 'r2', received: '2027-01-15T13:30:00Z', size: 3000 }),
        receipt({ id: 'r1' })
      ]
    };
    await setup(api);
    expect(screen.getByRole('status').textContent).toMatch(
      /^Handed in \d\d:30:00, 3.0 kB$/
    );
    expect(screen.getByText('Earlier hand-ins (1)')).toBeTruthy();
    expect(screen.getByText(/check.ipynb, 2.1 MB/)).toBeTruthy();
  });

  it('does not hand in when the notebook could not be saved', async () => {
    const api = new FakeAPI();
    api.programValue = program([presentSession()]);
    const { model } = await setup(api);
    await act(async () => {
      await model.handIn('dask', 'check.ipynb', async () => {
        throw new Error('Disk full.');
      });
    });
    expect(api.calls.filter(c => c.startsWith('handin:'))).toEqual([]);
    expect(screen.getByRole('alert').textContent).toBe(
      'Your notebook could not be saved, so it was not handed in. Disk full.'
    );
  });

  it('after the deadline: Closed with the service sentence, no hand-in', async () => {
    const api = new FakeAPI();
    api.programValue = program([presentSession()]);
    const { model } = await setup(api);
    const sentence = 'The deadline (Fri 15 Jan, 18:00 Europe/Paris) has passed.';
    api.fail['handin:dask:check.ipynb'] = { message: sentence, reason: 'deadline' };
    api.handinsValue = { assignment: assignment(-5), handins: [] };
    await act(async () => {
      await model.handIn('dask', 'check.ipynb');
    });
    expect(screen.getByRole('timer').textContent).toBe(`Closed ${sentence}`);
    const button = screen.getByRole('button', { name: 'Hand in check.ipynb' });
    expect((button as HTMLButtonElement).disabled).toBe(true);
  });

  it('after the deadline with late hand-in: Late, still accepted', async () => {
    const api = new FakeAPI();
    api.programValue = program([
      presentSession({
        assignment: assignment(-60, { accepts_late: true, open: true })
      })
    ]);
    api.receiptValue = receipt({ late: true });
    const { model } = await setup(api);
    expect(screen.getByRole('timer').textContent).toMatch(
      /^Late The deadline has passed: hand-ins are accepted and marked late.$/
    );
    await act(async () => {
      await model.handIn('dask', 'check.ipynb');
    });
    expect(screen.getByRole('status').textContent).toMatch(/, late$/);
  });

  it('asks to open the session before a notebook can be handed in', async () => {
    const api = new FakeAPI();
    api.programValue = program([session({ assignment: assignment() })]);
    await setup(api);
    const button = screen.getByRole('button', { name: 'Hand in check.ipynb' });
    expect((button as HTMLButtonElement).disabled).toBe(true);
    expect(
      screen.getByText(/Open the session to get this notebook first./)
    ).toBeTruthy();
  });

  it('gives teachers the list, a download each and all as a zip', async () => {
    const api = new FakeAPI();
    api.meValue = { name: 'teacher', teacher: true };
    api.programValue = program([presentSession()]);
    api.handinsValue = {
      assignment: assignment(),
      handins: [
        receipt({ id: 'r2', user: 'bob', late: true }),
        receipt({ id: 'r1', user: 'alice' })
      ]
    };
    await setup(api);
    expect(api.calls).toContain('handins:dask:latest');
    expect(screen.queryByRole('button', { name: 'Hand in check.ipynb' })).toBeNull();
    expect(screen.getByText('Hand-ins (2 students)')).toBeTruthy();
    const bob = screen.getByRole('link', { name: "Download bob's check.ipynb" });
    expect(bob.getAttribute('href')).toBe('/user/alice/course/api/handins/r2');
    expect(screen.getByText('late')).toBeTruthy();
    const zip = screen.getByRole('link', { name: 'Download all (zip)' });
    expect(zip.getAttribute('href')).toBe(
      '/user/alice/course/api/sessions/dask/handins.zip'
    );
  });

  it('shows no assignment for a session without one', async () => {
    const api = new FakeAPI();
    await setup(api);
    expect(screen.queryByText('Assignment')).toBeNull();
    expect(api.calls.filter(c => c.startsWith('handins:'))).toEqual([]);
  });
});
