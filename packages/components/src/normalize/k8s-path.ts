/**
 * Kubernetes metadata from the paths kubelet writes container logs to, for
 * the agent's file source and the `enrich_k8s_path` transform:
 *
 * - `/var/log/pods/<namespace>_<pod>_<pod-uid>/<container>/<restart>.log`
 *   (rotated files: `<restart>.log.<timestamp>`, optionally `.gz`);
 * - `/var/log/containers/<pod>_<namespace>_<container>-<container-id>.log`
 *   (the symlinks kubelet keeps; the id is 64 hex digits).
 *
 * Namespace and pod names are DNS labels/subdomains and cannot contain `_`,
 * which is what makes the `_`-separated names unambiguous. Only the file name
 * and its parent folders are read, so any prefix (a host mount such as
 * `/host/var/log/pods/...`) works. Pure string work.
 */

export interface K8sPathMetadata {
  'k8s.namespace.name': string;
  'k8s.pod.name': string;
  'k8s.container.name': string;
  'k8s.pod.uid'?: string;
  'k8s.container.restart_count'?: number;
  'container.id'?: string;
}

function restartCount(file: string): number | undefined {
  const dot = file.indexOf('.log');
  if (dot <= 0 || dot > 6) return undefined;
  let v = 0;
  for (let i = 0; i < dot; i++) {
    const c = file.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return v;
}

function isHex64(s: string): boolean {
  if (s.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** The metadata a pod log path names; undefined for any other path. */
export function k8sMetadataFromPath(path: string): K8sPathMetadata | undefined {
  const pods = path.lastIndexOf('/pods/');
  if (pods >= 0) {
    const parts = path.slice(pods + 6).split('/');
    if (parts.length !== 3) return undefined;
    const [podDir, container, file] = parts as [string, string, string];
    const u1 = podDir.indexOf('_');
    const u2 = u1 < 0 ? -1 : podDir.indexOf('_', u1 + 1);
    if (u1 <= 0 || u2 <= u1 + 1 || u2 === podDir.length - 1 || podDir.indexOf('_', u2 + 1) >= 0 || container === '') return undefined;
    const meta: K8sPathMetadata = {
      'k8s.namespace.name': podDir.slice(0, u1),
      'k8s.pod.name': podDir.slice(u1 + 1, u2),
      'k8s.container.name': container,
      'k8s.pod.uid': podDir.slice(u2 + 1),
    };
    const n = restartCount(file);
    if (n !== undefined) meta['k8s.container.restart_count'] = n;
    return meta;
  }
  const containers = path.lastIndexOf('/containers/');
  if (containers >= 0) {
    const file = path.slice(containers + 12);
    if (file.includes('/') || !file.endsWith('.log')) return undefined;
    const base = file.slice(0, -4);
    const u1 = base.indexOf('_');
    const u2 = u1 < 0 ? -1 : base.indexOf('_', u1 + 1);
    if (u1 <= 0 || u2 <= u1 + 1 || base.indexOf('_', u2 + 1) >= 0) return undefined;
    const rest = base.slice(u2 + 1);
    const dash = rest.lastIndexOf('-');
    if (dash <= 0 || !isHex64(rest.slice(dash + 1))) return undefined;
    return {
      'k8s.pod.name': base.slice(0, u1),
      'k8s.namespace.name': base.slice(u1 + 1, u2),
      'k8s.container.name': rest.slice(0, dash),
      'container.id': rest.slice(dash + 1),
    };
  }
  return undefined;
}
