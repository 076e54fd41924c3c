// One selector requirement (`{key, operator, values}`) against an object's labels, as both label
// selectors (In, NotIn, Exists, DoesNotExist) and node selector terms (those plus Gt and Lt) read it.
import { arrayAt, stringAt } from './json-fields.js';

/**
 * Whether `labels` satisfy `requirement`. Gt and Lt count only where `numeric` allows them (node
 * selector terms); an operator Kubernetes would have refused at admission matches nothing.
 */
export function requirementMatches(requirement: unknown, labels: Readonly<Record<string, unknown>>, numeric: boolean): boolean {
  const key = stringAt(requirement, 'key') ?? '';
  const values = arrayAt(requirement, 'values').filter((v): v is string => typeof v === 'string');
  const actual = typeof labels[key] === 'string' ? labels[key] : undefined;
  switch (stringAt(requirement, 'operator')) {
    case 'In':
      return actual !== undefined && values.includes(actual);
    case 'NotIn':
      return actual === undefined || !values.includes(actual);
    case 'Exists':
      return actual !== undefined;
    case 'DoesNotExist':
      return actual === undefined;
    case 'Gt':
      return numeric && actual !== undefined && values.length === 1 && Number(actual) > Number(values[0]);
    case 'Lt':
      return numeric && actual !== undefined && values.length === 1 && Number(actual) < Number(values[0]);
    default:
      return false;
  }
}
