import { act, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';

import { CourseApiError } from '../request';
import { CourseModel } from '../state';
import { IPreparation, PrepareClass, progressLine } from '../widgets/PrepareClass';
import { FakeAPI } from './fixtures';

function job(over: Partial<IPreparation> = {}): IPreparation {
  return {
    id: '0123456789abcdef',
    total: 3,
    started: 0,
    ready: 0,
    failed: 0,
    failures: [],
    done: false,
    ...over
  };
}

async function setup(teacher: boolean, steps: IPreparation[], startError?: Error) {
  const api = new FakeAPI();
  api.meValue = { name: teacher ? 'prof' : 'alice', teacher };
  const model = new CourseModel(api);
  const reads: string[] = [];
  const start = jest.fn(async () => {
    if (startError) {
      throw startError;
    }
    return steps[0];
  });
  let i = 0;
  const read = async (id: string) => {
    reads.push(id);
    i = Math.min(i + 1, steps.length - 1);
    return steps[i];
  };
  render(<PrepareClass model={model} start={start} read={read} pollMs={1} />);
  await act(async () => {
    await model.loadMe();
  });
  return { start, reads };
}

async function settle() {
  for (let k = 0; k < 10; k++) {
    await act(async () => {
      await new Promise(r => setTimeout(r, 5));
    });
  }
}

describe('Prepare the class', () => {
  it('is not shown to students', async () => {
    await setup(false, [job()]);
    expect(screen.queryByRole('region', { name: 'Prepare the class' })).toBeNull();
  });

  it('starts the job, follows its progress and lists the failures', async () => {
    const failure = { user: 'bob', message: 'bob is not a user of the hub.' };
    const { start, reads } = await setup(true, [
      job(),
      job({ started: 3, ready: 1 }),
      job({ started: 3, ready: 2, failed: 1, failures: [failure], done: true })
    ]);
    const button = screen.getByRole('button', { name: 'Prepare the class' });
    await act(async () => {
      fireEvent.click(button);
    });
    expect(start).toHaveBeenCalledTimes(1);
    await settle();
    expect(reads.length).toBe(2); // stops polling once done
    const bar = screen.getByLabelText('Servers ready') as HTMLProgressElement;
    expect(bar.value).toBe(3);
    expect(bar.max).toBe(3);
    expect(screen.getByText('2 of 3 ready, 1 failed')).toBeTruthy();
    const failures = screen.getByRole('list', { name: 'Failures' });
    expect(failures.textContent).toBe('bob: bob is not a user of the hub.');
    // Done: the teacher may prepare again (e.g. after fixing a failure).
    expect(
      (screen.getByRole('button', { name: 'Prepare the class' }) as HTMLButtonElement)
        .disabled
    ).toBe(false);
  });

  it("shows the service's sentence when it refuses", async () => {
    await setup(
      true,
      [job()],
      new CourseApiError(403, 'Only teachers may prepare the class.')
    );
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Prepare the class' }));
    });
    expect(screen.getByRole('alert').textContent).toBe(
      'Only teachers may prepare the class.'
    );
  });

  it('words the progress', () => {
    expect(progressLine(job({ started: 2, ready: 1 }))).toBe(
      '1 of 3 ready (2 started)'
    );
    expect(progressLine(job({ ready: 3, done: true }))).toBe('3 of 3 ready');
  });
});
