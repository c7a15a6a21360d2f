import { draftRequest, LIVE_INTERVAL, LIVE_SLOW_INTERVAL, LiveModel } from '../live';
import { ILiveState } from '../model';
import { CourseModel } from '../state';
import { FakeAPI, liveQuestion, teacherQuestion } from './fixtures';

function make(api = new FakeAPI()) {
  const live = new LiveModel(api);
  let changes = 0;
  live.changed.connect(() => changes++);
  return { api, live, changes: () => changes };
}

/** A `live` answer the test releases when it wants (a long-poll under way). */
function deferred(api: FakeAPI) {
  let release: (value: ILiveState) => void = () => undefined;
  api.live = (after?: number) => {
    api.calls.push(after === undefined ? 'live' : `live?after=${after}`);
    return new Promise<ILiveState>(resolve => {
      release = resolve;
    });
  };
  return (value: ILiveState) => release(value);
}

describe('a typed live question', () => {
  const draft = {
    text: ' Which is lazy? ',
    choices: ['map', '', 'compute', ''],
    answer: 2,
    explanation: ' compute runs it. '
  };

  it('becomes the open request, empty choices left out', () => {
    expect(draftRequest(draft)).toEqual({
      request: {
        text: 'Which is lazy?',
        choices: ['map', 'compute'],
        answer: 1,
        explanation: 'compute runs it.'
      }
    });
    expect(draftRequest({ ...draft, answer: null, explanation: '  ' })).toEqual({
      request: {
        text: 'Which is lazy?',
        choices: ['map', 'compute'],
        answer: null,
        explanation: null
      }
    });
  });

  it('needs a text and 2 to 5 distinct choices, and a right answer that exists', () => {
    expect(draftRequest({ ...draft, text: ' ' }).error).toBe(
      'Write the question first.'
    );
    expect(draftRequest({ ...draft, choices: ['map', ''], answer: null }).error).toBe(
      'Give 2 to 5 choices (you gave 1).'
    );
    expect(
      draftRequest({ ...draft, choices: ['a', 'b', 'c', 'd', 'e', 'f'], answer: 0 })
        .error
    ).toBe('Give 2 to 5 choices (you gave 6).');
    expect(
      draftRequest({ ...draft, choices: ['a', 'b', 'c', 'd', 'e'], answer: 4 }).request
        ?.choices
    ).toHaveLength(5);
    expect(draftRequest({ ...draft, choices: ['map', 'map '] }).error).toMatch(
      /Two choices are the same/
    );
    expect(draftRequest({ ...draft, answer: 1 }).error).toMatch(/empty choice/);
  });
});

describe('LiveModel', () => {
  it('asks for the state at once, then long-polls for a newer version', async () => {
    const { api, live, changes } = make();
    await live.tick();
    expect(api.calls).toEqual(['live']);
    expect(live.question).toBeNull();
    api.liveValue = { ...api.liveValue, version: 2, question: liveQuestion() };
    await live.tick();
    expect(api.calls).toEqual(['live', 'live?after=1']);
    expect(live.version).toBe(2);
    expect(live.question?.text).toBe('What moves data between workers?');
    expect(changes()).toBe(2);
  });

  it('keeps the sentence of a failed poll and rejects so the poll backs off', async () => {
    const { api, live } = make();
    api.liveValue = { ...api.liveValue, question: liveQuestion() };
    await live.tick();
    api.fail['live?after=1'] = {
      message: 'The course service is not answering.',
      reason: 'service-unreachable'
    };
    await expect(live.tick()).rejects.toBeTruthy();
    expect(live.pollError?.message).toBe('The course service is not answering.');
    expect(live.question).not.toBeNull(); // the last known question stays
    delete api.fail['live?after=1'];
    await live.tick();
    expect(live.pollError).toBeNull();
  });

  it('shows the badge while a question waits for the student, not for teachers', async () => {
    const { api, live } = make();
    api.liveValue = { ...api.liveValue, question: liveQuestion() };
    await live.tick();
    expect(live.attention).toBe(true);
    live.teacher = true;
    expect(live.attention).toBe(false);
    live.teacher = false;
    await live.answer(1);
    expect(api.calls).toContain('live:answer:7:1');
    expect(live.question?.my_answer).toBe(1);
    expect(live.attention).toBe(false);
  });

  it('badges a reveal until the panel has shown it', async () => {
    const { api, live } = make();
    api.liveValue = {
      ...api.liveValue,
      question: liveQuestion({ state: 'revealed', answer: 1, my_answer: 1 })
    };
    await live.tick();
    expect(live.attention).toBe(true);
    live.setPanelVisible(true);
    expect(live.attention).toBe(false);
    // Revealed while the panel is visible: seen at once.
    api.liveValue = {
      version: 3,
      question: liveQuestion({ id: 9, state: 'revealed', answer: 0 }),
      server_time: ''
    };
    await live.tick();
    expect(live.attention).toBe(false);
  });

  it('lets the student change their answer, marking the one being sent', async () => {
    const { api, live } = make();
    api.liveValue = { ...api.liveValue, question: liveQuestion() };
    await live.tick();
    await live.answer(0);
    const changing = live.answer(2);
    expect(live.chosen).toBe(2); // marked before the service answers
    await changing;
    expect(live.sending).toBeNull();
    expect(live.question?.my_answer).toBe(2);
    expect(api.calls.filter(c => c.startsWith('live:answer:'))).toEqual([
      'live:answer:7:0',
      'live:answer:7:2'
    ]);
  });

  it('keeps an answer made while a long-poll was under way', async () => {
    const api = new FakeAPI();
    api.liveValue = { ...api.liveValue, question: liveQuestion() };
    const { live } = make(api);
    await live.tick();
    const release = deferred(api);
    const round = live.tick();
    await live.answer(1);
    release({ version: 2, question: liveQuestion(), server_time: '' }); // older view
    await round;
    expect(live.version).toBe(2);
    expect(live.question?.my_answer).toBe(1);
  });

  it('says the service sentence when the question was closed meanwhile', async () => {
    const { api, live } = make();
    api.liveValue = { ...api.liveValue, question: liveQuestion({ my_answer: 0 }) };
    await live.tick();
    api.fail['live:answer:7:1'] = {
      message: 'This question is closed: answers are no longer taken.',
      reason: 'closed'
    };
    await live.answer(1);
    expect(live.answerError?.message).toBe(
      'This question is closed: answers are no longer taken.'
    );
    expect(live.question?.state).toBe('closed');
    expect(live.chosen).toBe(0); // their answer stays the one the service has
    await live.answer(2); // closed: nothing is sent
    expect(api.calls.filter(c => c === 'live:answer:7:2')).toEqual([]);
  });

  it('opens, closes and reveals for teachers, and keeps refusals', async () => {
    const { api, live } = make();
    live.teacher = true;
    const opened = await live.open({ session: 'dask', number: 0 });
    expect(api.calls).toContain('live:open:{"session":"dask","number":0}');
    expect(opened?.id).toBe(7);
    expect(live.question?.counts).toEqual([0, 0, 0]);
    api.liveValue = { ...api.liveValue, question: teacherQuestion() };
    await live.close();
    expect(api.calls).toContain('live:close:7');
    expect(live.question?.state).toBe('closed');
    await live.reveal();
    expect(live.question?.state).toBe('revealed');
    api.fail['live:open:{"session":"nope","number":3}'] = {
      message: 'Session nope has no question 4.',
      reason: 'unknown'
    };
    expect(await live.open({ session: 'nope', number: 3 })).toBeNull();
    expect(live.openError?.message).toBe('Session nope has no question 4.');
    expect(live.opening).toBe(false);
  });

  it('reloads the history when a question opens or changes state', async () => {
    const { api, live } = make();
    live.teacher = true;
    await live.tick();
    expect(api.calls).not.toContain('live:history');
    api.historyValue = [teacherQuestion({ id: 3, state: 'revealed' })];
    await live.loadHistory();
    expect(live.history).toHaveLength(1);
    api.liveValue = { version: 2, question: teacherQuestion(), server_time: '' };
    await live.tick();
    api.liveValue = {
      version: 3,
      question: teacherQuestion({ counts: [1, 0, 0], answered: 1 }),
      server_time: ''
    };
    await live.tick(); // an answer: the history stays as it is
    expect(api.calls.filter(c => c === 'live:history')).toHaveLength(2);
    await live.view(3);
    expect(live.shown?.id).toBe(3);
    expect(live.csvUrl(3)).toBe('/user/alice/course/api/live/3/results.csv');
    await live.view(null);
    expect(live.shown?.id).toBe(7);
  });

  it('polls for the plugin life, standing by when hidden, slower without long-polls', async () => {
    const { api, live } = make();
    live.start();
    expect(live.poll?.standby).toBe('when-hidden');
    expect(live.poll?.frequency.interval).toBe(LIVE_INTERVAL);
    // This fake answers at once with the same version: no long-poll, so slow down.
    const deadline = Date.now() + 2000;
    while (!api.calls.includes('live?after=1') && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    expect(api.calls.slice(0, 2)).toEqual(['live', 'live?after=1']);
    expect(live.poll?.frequency.interval).toBe(LIVE_SLOW_INTERVAL);
    live.dispose();
    expect(live.poll).toBeNull();
  });

  it('learns from `me` whether the user is a teacher', async () => {
    const api = new FakeAPI();
    api.meValue = { name: 'teacher', teacher: true };
    const model = new CourseModel(api);
    await model.loadMe();
    expect(model.live.teacher).toBe(true);
    model.dispose();
  });
});
