// The backend's wire shapes (backend/k8s_optimizer/api/schemas.py, docs/api.md), as the dashboard reads them.
// Only the fields the views use are typed; units are in the names, as on the wire.

export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

export interface Resources {
  cpu_usage_millicores: number | null;
  cpu_request_millicores: number | null;
  cpu_limit_millicores: number | null;
  memory_usage_bytes: number | null;
  memory_request_bytes: number | null;
  memory_limit_bytes: number | null;
  cpu_utilization_percent: number | null;
  memory_utilization_percent: number | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
  total: number;
}

export interface NodeOut {
  name: string;
  roles: string[];
  internal_ip: string | null;
  pod_cidr: string | null;
  ready: boolean;
  allocatable_cpu_millicores: number;
  allocatable_memory_bytes: number;
  usage_cpu_millicores: number | null;
  usage_memory_bytes: number | null;
  requested_cpu_millicores: number;
  requested_memory_bytes: number;
  pod_count: number;
}

export interface NetworkPlanes {
  node_network_cidr: string | null;
  pod_cidrs: string[];
  service_cidr: string;
  host_port_mappings: Record<string, number>;
}

export interface Overview {
  taken_at: string;
  synced: boolean;
  nodes: NodeOut[];
  network: NetworkPlanes;
  counts: Record<string, number>;
  cost_monthly_usd: number;
  potential_savings_monthly_usd: number;
  scores: Record<string, number>;
}

export interface ServicePort {
  name: string | null;
  port: number;
  target_port: number | string;
  protocol: string;
  node_port: number | null;
  host_port: number | null;
}

export interface HPASummary {
  name: string;
  min_replicas: number;
  max_replicas: number;
  current_replicas: number | null;
  desired_replicas: number | null;
  current_cpu_utilization_percent: number | null;
  target_cpu_utilization_percent: number | null;
}

export interface Score {
  efficiency: number;
  reliability: number;
  right_sizing: number;
  overall: number;
  letter: string;
  /** False until a usage reading exists: efficiency is then a placeholder, left out of `overall`. */
  efficiency_measured: boolean;
}

export interface ServiceSummary {
  namespace: string;
  name: string;
  type: string;
  cluster_ip: string | null;
  dns_name: string;
  ports: ServicePort[];
  selector: Record<string, string> | null;
  endpoints: { ready: number; not_ready: number };
  workloads: { kind: string; namespace: string; name: string; replicas: number | null; ready_replicas: number }[];
  hpa: HPASummary | null;
  resources: Resources;
  score: Score | null;
  open_recommendations: number;
  diagnoses: number;
}

export interface ContainerOut {
  name: string;
  image: string;
  ready: boolean | null;
  restart_count: number;
  state: string | null;
  reason: string | null;
  resources: Resources;
}

export interface PodOut {
  namespace: string;
  name: string;
  ip: string | null;
  node: string | null;
  host_ip: string | null;
  phase: string;
  ready: boolean;
  restarts: number;
  owner: ObjectRef | null;
  containers: ContainerOut[];
  resources: Resources;
  deleting: boolean;
}

export interface HPAOut {
  namespace: string;
  name: string;
  target: ObjectRef;
  min_replicas: number;
  max_replicas: number;
  current_replicas: number | null;
  desired_replicas: number | null;
  current_cpu_utilization_percent: number | null;
  conditions: { type: string; status: string; reason: string; message: string }[];
}

export interface CheckOut {
  id: string;
  severity: "danger" | "warning" | "info";
  target: ObjectRef;
  container: string | null;
  passed: boolean;
  message: string;
  fix: string;
}

export interface DiagnosisOut {
  id: string;
  /** The Service the finding is about; for a workload's own diagnosis, the workload itself. */
  service: ObjectRef;
  severity: "danger" | "warning" | "info";
  message: string;
  evidence_command: string;
  fix: string;
  pods: string[];
}

/** One step of the HPA simulation: replicas the current and the proposed HPA settings would have run. */
export interface TimelinePoint {
  timestamp: string; // UTC ISO 8601
  usage_millicores: number; // the workload's total CPU usage at that step
  current_replicas: number;
  proposed_replicas: number;
}

/** The recorded usage replayed through the autoscaling/v2 algorithm with one HPA setting. */
export interface HPASimulation {
  replica_hours: number;
  cost_usd: number;
  time_at_max_seconds: number;
  time_at_min_seconds: number;
  scale_events_per_hour: number;
  max_utilization_percent: number;
  time_over_target_seconds: number;
}

export interface Recommendation {
  id: string;
  target: ObjectRef;
  container: string | null;
  kind: string;
  priority: "high" | "medium" | "low";
  severity: string;
  savings_monthly_usd: number;
  confidence: number;
  rationale: string;
  current: Record<string, unknown> | null;
  proposed: Record<string, unknown> | null;
  patch: Record<string, unknown>;
  patch_yaml: string;
  kubectl_command: string;
  verify_commands: string[];
  bounds: Record<string, unknown> | null;
  /** HPA recommendations only (null for other kinds). */
  simulation_current: HPASimulation | null;
  simulation_proposed: HPASimulation | null;
  applicable: boolean;
  /** HPA recommendations: the simulated replica timeline (≤ 240 points, oldest first); [] otherwise. */
  timeline: TimelinePoint[];
}

/** GET /api/v1/capabilities: what this backend allows. */
export interface Capabilities {
  apply_enabled: boolean;
  token_required: boolean;
  apply_disabled_reason: string | null;
  version: string;
}

export interface Anomaly {
  id: string;
  kind: string;
  series: string;
  target: ObjectRef;
  timestamp: string;
  value: number;
  severity: "low" | "medium" | "high" | "critical";
  message: string;
}

export interface EventOut {
  name: string;
  reason: string;
  message: string;
  type: string;
  count: number;
  last_seen: string | null;
}

export interface ServiceDetail extends ServiceSummary {
  pods: PodOut[];
  endpoint_addresses: { ip: string; ready: boolean; pod_name: string | null; node_name: string | null }[];
  hpa_detail: HPAOut | null;
  checks: CheckOut[];
  diagnosis: DiagnosisOut[];
  recommendations: Recommendation[];
  anomalies: Anomaly[];
  events: EventOut[];
}

export interface WorkloadSummary {
  kind: string;
  namespace: string;
  name: string;
  replicas: number | null;
  ready_replicas: number;
  available_replicas: number;
  updated_replicas: number;
  resources: Resources;
  hpa: HPASummary | null;
  services: string[];
  open_recommendations: number;
  /** Findings on this workload's pods that no Service fronts (crash loops, unschedulable). */
  diagnoses: number;
}

export interface WorkloadDetail extends WorkloadSummary {
  pods: PodOut[];
  /** The findings counted by `diagnoses` (`service` names the workload itself). */
  diagnosis: DiagnosisOut[];
  recommendations: Recommendation[];
  anomalies: Anomaly[];
  events: EventOut[];
}

export interface PathHop {
  kind: string; // client, dns, cluster-ip, kube-proxy, pod, cni, host, port-mapping, node-port, node
  label: string;
  address: string | null;
  note: string;
  command: string | null;
}

export interface PathBranch {
  target: string; // pod IP:port, the DNAT destination
  probability: number;
  cross_node: boolean | null;
  hops: PathHop[];
  rule_chain?: string | null; // kube-proxy's chain for this endpoint (KUBE-SEP-…)
}

export interface RequestPath {
  kind: "cluster-ip" | "node-port" | "load-balancer" | "headless" | "external-name" | "ingress";
  service_port: number;
  hops: PathHop[];
  branches: PathBranch[];
}

export interface ProxyRule {
  index: number;
  target: string;
  pod: string | null;
  node: string | null;
  rule_probability: number;
  probability: number;
}

export interface PathEndpoint {
  ip: string;
  ports: number[];
  ready: boolean;
  pod: string | null;
  node: string | null;
  node_ip: string | null;
}

export interface ServicePath {
  service: ObjectRef;
  dns_name: string;
  type: string;
  cluster_ip: string | null;
  endpoints: PathEndpoint[];
  kube_proxy: { service_port: number; protocol: string; rules: ProxyRule[] }[];
  paths: RequestPath[];
  verification_commands: string[];
}

export interface SeriesPoint {
  t: number; // unix seconds, start of the step
  samples: number;
  min: number;
  avg: number;
  max: number;
  p95: number;
}

export interface TimeSeries {
  target: string;
  metric: "cpu" | "memory" | "replicas";
  unit: string;
  total: SeriesPoint[];
  per_pod: Record<string, SeriesPoint[]>;
  request_per_pod: number | null;
  limit_per_pod: number | null;
  replicas: number | null;
}

export interface DiffLine {
  path: string;
  before: unknown;
  after: unknown;
}

export interface DryRunResult {
  recommendation_id: string;
  diff: DiffLine[];
  unified_diff: string;
}

export interface ChangeRecord {
  id: string;
  action: "apply" | "rollback";
  recommendation_id: string | null;
  target: ObjectRef;
  at: string;
  diff: DiffLine[];
  rolled_back_by: string | null;
  rollback_of: string | null;
}

export interface PodUsage {
  namespace: string;
  name: string;
  cpu_millicores: number;
  memory_bytes: number;
}

export interface ServiceUsage extends PodUsage {
  cpu_request_millicores: number | null;
  memory_request_bytes: number | null;
}

export interface MetricsData {
  timestamp: string | null;
  pods: PodUsage[];
  services: ServiceUsage[];
}

export type Topic =
  | "services"
  | "pods"
  | "nodes"
  | "hpa"
  | "workloads"
  | "events"
  | "metrics"
  | "recommendations"
  | "anomalies";

export interface SnapshotMessage {
  type: "snapshot";
  epoch: string;
  seq: number;
  reason: "subscribe" | "resync" | "since-expired" | "epoch-changed";
  topics: Topic[];
  namespace: string | null;
  data: {
    services?: ServiceSummary[] | null;
    pods?: PodOut[] | null;
    nodes?: NodeOut[] | null;
    hpa?: HPAOut[] | null;
    workloads?: WorkloadSummary[] | null;
    events?: unknown[] | null;
    metrics?: MetricsData | null;
    recommendations?: Recommendation[] | null;
    anomalies?: Anomaly[] | null;
  };
}

export interface DeltaMessage {
  type: "delta";
  epoch: string;
  seq: number;
  topic: Topic;
  change: "added" | "modified" | "deleted";
  kind: string;
  namespace: string;
  name: string;
  object: Record<string, unknown> | null;
}

export interface MetricsMessage extends MetricsData {
  type: "metrics";
  epoch: string;
  seq: number;
}

export interface ListMessage<T> {
  epoch: string;
  seq: number;
  items: T[];
  added: string[];
  removed: string[];
}

export type ServerMessage =
  | SnapshotMessage
  | DeltaMessage
  | MetricsMessage
  | ({ type: "recommendations" } & ListMessage<Recommendation>)
  | ({ type: "anomalies" } & ListMessage<Anomaly>)
  | { type: "heartbeat"; epoch: string; seq: number; at: string }
  | { type: "pong"; epoch: string; seq: number }
  | { type: "error"; epoch: string; seq: number; code: string; detail: string };

export interface EndpointRuleOut {
  endpoint: string;
  chain: string;
  dnat: string;
}

export interface RulesOut {
  node: string;
  mode: "iptables" | "nftables" | "ipvs";
  mode_source: string;
  service: ObjectRef | null;
  text: string;
  listing: string | null;
  endpoint_rules: EndpointRuleOut[];
}

export interface SideVerdictOut {
  direction: "Ingress" | "Egress";
  isolated: boolean;
  allowed: boolean;
  selecting: ObjectRef[];
  allowing: ObjectRef[];
}

export interface EndpointReachability {
  pod: string;
  port: number;
  allowed: boolean;
  reason: string;
  egress: SideVerdictOut;
  ingress: SideVerdictOut;
}

export interface ReachabilityOut {
  service: ObjectRef;
  source: string;
  ports: { service_port: number; protocol: string; verdict: "allowed" | "denied" | "partial" | "no-endpoints"; endpoints: EndpointReachability[] }[];
}
