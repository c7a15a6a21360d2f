import { useEffect, useReducer } from 'react';

import { CourseModel } from '../state';

/** Re-render whenever the model says it changed. */
export function useModel(model: CourseModel): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const slot = () => bump();
    model.changed.connect(slot);
    return () => {
      model.changed.disconnect(slot);
    };
  }, [model]);
}
