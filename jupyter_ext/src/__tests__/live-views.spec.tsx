import { act, fireEvent, render, screen, within } from '@testing-library/react';
import React from 'react';

import { CourseModel } from '../state';
import { IPanelActions } from '../widgets/actions';
import { CourseView } from '../widgets/CourseView';
import { LiveView } from '../widgets/LiveView';
import { FakeAPI, liveQuestion, teacherQuestion } from './fixtures';

async function setup(api: FakeAPI) {
  const model = new CourseModel(api);
  const log: string[] = [];
  const actions: IPanelActions = {
    openNotebook: async () => undefined,
    insertCode: async () => undefined,
    openDashboard: () => undefined,
    confirmStop: async () => true,
    saveIfDirty: async () => undefined,
    openLiveView: () => {
      log.push('live view');
    }
  };
  render(<CourseView model={model} actions={actions} />);
  await act(async () => {
    await model.loadMe();
    await model.refreshProgram();
    await model.live.tick();
  });
  return { model, log };
}

/** The service moves on (a new version) and the panel's long-poll brings it. */
async function serviceSays(model: CourseModel, api: FakeAPI, over = {}) {
  api.liveValue = {
    version: (api.liveValue.version ?? 0) + 1,
    question: { ...api.liveValue.question!, ...over },
    server_time: ''
  };
  await act(async () => {
    await model.live.tick();
  });
}

function choice(name: RegExp) {
  return screen.getByRole('button', { name }) as HTMLButtonElement;
}

describe('a live question, for a student', () => {
  it('shows the question at the top with a button per choice', async () => {
    const api = new FakeAPI();
    api.liveValue = { ...api.liveValue, question: liveQuestion() };
    const { model } = await setup(api);
    const section = screen.getByRole('region', { name: 'Live question' });
    expect(within(section).getByText('What moves data between workers?')).toBeTruthy();
    expect(within(section).getAllByRole('button')).toHaveLength(3);
    expect(model.live.attention).toBe(true); // the tab's badge
    expect(screen.queryByRole('region', { name: 'Live quiz' })).toBeNull();
  });

  it('shows nothing when no question is open', async () => {
    const api = new FakeAPI();
    await setup(api);
    expect(screen.queryByRole('region', { name: 'Live question' })).toBeNull();
  });

  it('answers with a click, marks the choice and lets the student change it', async () => {
    const api = new FakeAPI();
    api.liveValue = { ...api.liveValue, question: liveQuestion() };
    const { model } = await setup(api);
    await act(async () => {
      fireEvent.click(choice(/^A map/));
    });
    expect(api.calls).toContain('live:answer:7:0');
    expect(choice(/^A map/).getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByText('your answer')).toBeTruthy();
    expect(screen.getByText(/^Answer sent\./)).toBeTruthy();
    expect(model.live.attention).toBe(false);
    await act(async () => {
      fireEvent.click(choice(/^B shuffle/));
    });
    expect(api.calls).toContain('live:answer:7:1');
    expect(choice(/^A map/).getAttribute('aria-pressed')).toBe('false');
    expect(choice(/^B shuffle/).getAttribute('aria-pressed')).toBe('true');
  });

  it('says it is closed, waiting for the answer, and takes no more clicks', async () => {
    const api = new FakeAPI();
    api.liveValue = { ...api.liveValue, question: liveQuestion({ my_answer: 1 }) };
    const { model } = await setup(api);
    await serviceSays(model, api, { state: 'closed' });
    expect(screen.getByRole('status').textContent).toBe(
      'Closed, waiting for the answer'
    );
    expect(choice(/^A map/).disabled).toBe(true);
    expect(choice(/^B shuffle/).getAttribute('aria-pressed')).toBe('true');
  });

  it('shows the answer and the explanation once revealed, right or wrong', async () => {
    const api = new FakeAPI();
    api.liveValue = { ...api.liveValue, question: liveQuestion({ my_answer: 0 }) };
    const { model } = await setup(api);
    await serviceSays(model, api, {
      state: 'revealed',
      answer: 1,
      explanation: 'A shuffle sends each key to one worker.'
    });
    const status = screen.getByRole('status');
    expect(status.textContent).toBe(
      'Not quite: you chose A, the answer is B. shuffle' +
        'A shuffle sends each key to one worker.'
    );
    expect(choice(/^A map/).className).toMatch(/jp-mod-wrong/);
    expect(choice(/^B shuffle/).className).toMatch(/jp-mod-correct/);
    await serviceSays(model, api, { my_answer: 1 });
    expect(screen.getByRole('status').textContent).toMatch(/^Right: B\. shuffle/);
  });

  it("shows the service's sentence when an answer is refused", async () => {
    const api = new FakeAPI();
    api.liveValue = { ...api.liveValue, question: liveQuestion() };
    await setup(api);
    api.fail['live:answer:7:2'] = {
      message: 'This question is closed: answers are no longer taken.',
      reason: 'closed'
    };
    await act(async () => {
      fireEvent.click(choice(/^C persist/));
    });
    expect(screen.getByRole('alert').textContent).toBe(
      'This question is closed: answers are no longer taken.'
    );
    expect(screen.getByRole('status').textContent).toBe(
      'Closed, waiting for the answer'
    );
    expect(choice(/^C persist/).getAttribute('aria-pressed')).toBe('false');
  });
});

describe('the live quiz, for a teacher', () => {
  function teacherAPI() {
    const api = new FakeAPI();
    api.meValue = { name: 'teacher', teacher: true };
    return api;
  }

  it('opens a question of the current session quiz and shows the live view', async () => {
    const api = teacherAPI();
    const { log } = await setup(api);
    const section = screen.getByRole('region', { name: 'Live quiz' });
    expect(screen.queryByRole('region', { name: 'Live question' })).toBeNull();
    expect(api.calls).toContain('quiz:dask');
    expect(
      (within(section).getByLabelText('Question') as HTMLSelectElement).value
    ).toBe('0');
    expect(within(section).getByText('shuffle')).toBeTruthy(); // the choices, previewed
    await act(async () => {
      fireEvent.click(
        within(section).getByRole('button', { name: 'Open for the class' })
      );
    });
    expect(api.calls).toContain('live:open:{"session":"dask","number":0}');
    expect(log).toEqual(['live view']);
    expect(within(section).getByText('0 answered of 2 online')).toBeTruthy();
    expect(within(section).getByText('Open')).toBeTruthy();
    expect(within(section).getByRole('button', { name: 'Close' })).toBeTruthy();
  });

  it('opens a typed question, with 2 to 5 choices checked first', async () => {
    const api = teacherAPI();
    const { log } = await setup(api);
    fireEvent.click(screen.getByLabelText('Type a question'));
    fireEvent.change(screen.getByLabelText('Question text'), {
      target: { value: 'Which is lazy?' }
    });
    fireEvent.change(screen.getByLabelText('Choice A'), { target: { value: 'map' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Open for the class' }));
    });
    expect(screen.getByRole('alert').textContent).toBe(
      'Give 2 to 5 choices (you gave 1).'
    );
    expect(api.calls.some(c => c.startsWith('live:open:'))).toBe(false);

    const add = screen.getByRole('button', {
      name: 'Add a choice'
    }) as HTMLButtonElement;
    fireEvent.click(add);
    fireEvent.click(add);
    expect(screen.getByLabelText('Choice E')).toBeTruthy();
    expect(add.disabled).toBe(true); // 5 at most
    fireEvent.click(screen.getByRole('button', { name: 'Remove choice E' }));
    fireEvent.change(screen.getByLabelText('Choice B'), {
      target: { value: 'compute' }
    });
    fireEvent.change(screen.getByLabelText('Right answer'), { target: { value: '1' } });
    fireEvent.change(screen.getByLabelText('Explanation (shown at the reveal)'), {
      target: { value: 'compute runs the graph.' }
    });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Open for the class' }));
    });
    expect(api.calls).toContain(
      'live:open:' +
        JSON.stringify({
          text: 'Which is lazy?',
          choices: ['map', 'compute'],
          answer: 1,
          explanation: 'compute runs the graph.'
        })
    );
    expect(log).toEqual(['live view']);
    expect(screen.queryByRole('alert')).toBeNull();
    expect((screen.getByLabelText('Question text') as HTMLTextAreaElement).value).toBe(
      ''
    );
  });

  it("shows the service's sentence when opening is refused", async () => {
    const api = teacherAPI();
    const { log } = await setup(api);
    api.openLive = async () => {
      throw { message: 'Only teachers can open live questions.', reason: 'forbidden' };
    };
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Open for the class' }));
    });
    expect(screen.getByRole('alert').textContent).toBe(
      'Only teachers can open live questions.'
    );
    expect(log).toEqual([]);
  });
});

describe('the live view', () => {
  async function view(api: FakeAPI) {
    const model = new CourseModel(api);
    model.live.teacher = true;
    render(<LiveView live={model.live} />);
    await act(async () => {
      await model.live.tick();
    });
    return model;
  }

  function count(letter: string): string {
    const bar = screen.getByLabelText(new RegExp(`^${letter}\\. `));
    return bar.querySelector('.jp-Course-liveBarCount')!.textContent!;
  }

  it('shows the question, the tally and a bar per choice following the answers', async () => {
    const api = new FakeAPI();
    api.liveValue = { ...api.liveValue, question: teacherQuestion() };
    const model = await view(api);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe(
      'What moves data between workers?'
    );
    expect(screen.getByRole('status').textContent).toBe('0 answered of 2 online');
    expect([count('A'), count('B'), count('C')]).toEqual(['0', '0', '0']);
    await serviceSays(model, api, { counts: [1, 1, 0], answered: 2 });
    expect(screen.getByRole('status').textContent).toBe('2 answered of 2 online');
    expect([count('A'), count('B'), count('C')]).toEqual(['1', '1', '0']);
    const fill = (letter: string) =>
      (
        screen
          .getByLabelText(new RegExp(`^${letter}\\. `))
          .querySelector('.jp-Course-liveBarFill') as HTMLElement
      ).style.width;
    expect(fill('A')).toBe('50%');
    await serviceSays(model, api, { counts: [0, 2, 0] }); // one changed their mind
    expect([count('A'), count('B')]).toEqual(['0', '2']);
    expect(fill('B')).toBe('100%');
    expect(screen.getByLabelText('B. shuffle: 2 answers').className).not.toMatch(
      /jp-mod-correct/
    ); // not before the reveal: the room sees this screen
  });

  it('closes, reveals, and links the CSV and the history', async () => {
    const api = new FakeAPI();
    api.liveValue = { ...api.liveValue, question: teacherQuestion() };
    api.historyValue = [
      teacherQuestion(),
      teacherQuestion({ id: 3, text: 'Earlier one', state: 'revealed', answered: 4 })
    ];
    await view(api);
    expect(api.calls).toContain('live:history');
    expect(
      screen.getByRole('link', { name: 'Download CSV' }).getAttribute('href')
    ).toBe('/user/alice/course/api/live/7/results.csv');
    expect(screen.getByText('Revealed · 4 answered')).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    });
    expect(api.calls).toContain('live:close:7');
    expect(screen.queryByRole('button', { name: 'Close' })).toBeNull();
    api.liveValue = {
      ...api.liveValue,
      question: teacherQuestion({ state: 'closed' })
    };
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Reveal' }));
    });
    expect(api.calls).toContain('live:reveal:7');
    expect(screen.getByText('A shuffle sends each key to one worker.')).toBeTruthy();
    expect(screen.getByLabelText('B. shuffle: 0 answers').className).toMatch(
      /jp-mod-correct/
    );
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: /Earlier one$/ }));
    });
    expect(api.calls).toContain('live:get:3');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Earlier one');
    expect(
      screen.getByRole('link', { name: 'Download CSV' }).getAttribute('href')
    ).toBe('/user/alice/course/api/live/3/results.csv');
    await act(async () => {
      fireEvent.click(
        screen.getByRole('button', { name: 'Back to the current question' })
      );
    });
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe(
      'What moves data between workers?'
    );
  });

  it("shows the service's sentence when an action is refused", async () => {
    const api = new FakeAPI();
    api.liveValue = { ...api.liveValue, question: teacherQuestion() };
    await view(api);
    api.fail['live:reveal:7'] = {
      message: 'Only teachers can reveal the answer.',
      reason: 'forbidden'
    };
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Reveal' }));
    });
    expect(screen.getByRole('alert').textContent).toBe(
      'Only teachers can reveal the answer.'
    );
  });

  it('says how to start when no question was asked', async () => {
    await view(new FakeAPI());
    expect(screen.getByText(/No live question yet/)).toBeTruthy();
    expect(screen.getByText('No question asked yet.')).toBeTruthy();
  });
});
