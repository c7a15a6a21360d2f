import React, { useState } from 'react';

import { buildCreateRequest, IFormValues } from '../format';
import { IOptionField, ISession } from '../model';
import { CourseModel } from '../state';

/** The options form, built from the gateway's own option fields. */
export function ClusterForm(props: {
  model: CourseModel;
  fields: IOptionField[];
  preset: ISession | null;
  onDone: () => void;
}): JSX.Element {
  const { model, fields, preset, onDone } = props;
  const initial: IFormValues = {};
  for (const f of fields) {
    initial[f.field] = String(f.default ?? '');
  }
  if (preset?.cluster) {
    if ('session' in initial) {
      initial.session = preset.id;
    }
    initial.worker_cores = String(preset.cluster.worker_cores);
    initial.worker_memory = String(preset.cluster.worker_memory);
  }
  const [values, setValues] = useState<IFormValues>(initial);
  const [workers, setWorkers] = useState(String(preset?.cluster?.workers ?? 2));
  const [adaptive, setAdaptive] = useState({
    enabled: !!preset?.cluster?.adaptive,
    minimum: String(preset?.cluster?.adaptive?.minimum ?? 1),
    maximum: String(preset?.cluster?.adaptive?.maximum ?? 4)
  });
  const [problems, setProblems] = useState<string[]>([]);

  const set = (field: string, value: string) =>
    setValues({ ...values, [field]: value });

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const { request, problems } = buildCreateRequest(fields, values, workers, adaptive);
    setProblems(problems);
    if (request) {
      const cluster = await model.createCluster(request);
      if (cluster) {
        onDone();
      }
    }
  };

  return (
    <form
      className="jp-Course-form"
      onSubmit={e => void submit(e)}
      aria-label="Cluster options"
      noValidate
    >
      {fields.map(f => (
        <label key={f.field}>
          <span>{f.label}</span>
          {f.type === 'select' ? (
            <select
              value={values[f.field]}
              onChange={e => set(f.field, e.target.value)}
            >
              {(f.options ?? []).map(o => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          ) : (
            <input
              type={f.type === 'integer' || f.type === 'float' ? 'number' : 'text'}
              step={f.type === 'float' ? 'any' : 1}
              min={f.min ?? undefined}
              max={f.max ?? undefined}
              value={values[f.field]}
              onChange={e => set(f.field, e.target.value)}
            />
          )}
        </label>
      ))}
      <label className="jp-Course-check">
        <input
          type="checkbox"
          checked={adaptive.enabled}
          onChange={e => setAdaptive({ ...adaptive, enabled: e.target.checked })}
        />
        <span>Adaptive (workers follow the load)</span>
      </label>
      {adaptive.enabled ? (
        <div className="jp-Course-row">
          <label>
            <span>Minimum workers</span>
            <input
              type="number"
              min={0}
              value={adaptive.minimum}
              onChange={e => setAdaptive({ ...adaptive, minimum: e.target.value })}
            />
          </label>
          <label>
            <span>Maximum workers</span>
            <input
              type="number"
              min={1}
              value={adaptive.maximum}
              onChange={e => setAdaptive({ ...adaptive, maximum: e.target.value })}
            />
          </label>
        </div>
      ) : (
        <label>
          <span>Workers</span>
          <input
            type="number"
            min={0}
            value={workers}
            onChange={e => setWorkers(e.target.value)}
          />
        </label>
      )}
      {problems.length > 0 && (
        <ul className="jp-Course-error" role="alert">
          {problems.map(p => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <div className="jp-Course-row">
        <button
          className="jp-mod-styled jp-mod-accept"
          type="submit"
          disabled={model.creating}
        >
          Start cluster
        </button>
        <button className="jp-mod-styled" type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
