// The backend's wire shapes, as the dashboard reads them: aliases of src/api-schema.ts, which is generated
// from the backend's OpenAPI document (`make dashboard-types`; tests/test_dashboard_types.py fails when the
// two disagree). Never edit a shape here: change backend/k8s_optimizer/api/schemas.py and regenerate.

import type { components } from "./api-schema";

type Schemas = components["schemas"];

export type ObjectRef = Schemas["ObjectRefOut"];
export type Resources = Schemas["Resources"];
/** Every list endpoint's page; the generated document names one per item type, all of this shape. */
export type Page<T> = Omit<Schemas["Page_ServiceSummary_"], "items"> & { items: T[] };
export type NodeOut = Schemas["NodeOut"];
export type NetworkPlanes = Schemas["NetworkPlanes"];
export type Overview = Schemas["Overview"];
export type ServicePort = Schemas["ServicePortOut"];
export type HPASummary = Schemas["HPASummary"];
export type Score = Schemas["ScoreOut"];
export type ServiceSummary = Schemas["ServiceSummary"];
export type ContainerOut = Schemas["ContainerOut"];
export type PodOut = Schemas["PodOut"];
export type HPAOut = Schemas["HPAOut"];
export type CheckOut = Schemas["CheckOut"];
export type DiagnosisOut = Schemas["DiagnosisOut"];
/** One step of the HPA simulation: replicas the current and the proposed HPA settings would have run. */
export type TimelinePoint = Schemas["TimelinePointOut"];
/** The recorded usage replayed through the autoscaling/v2 algorithm with one HPA setting. */
export type HPASimulation = Schemas["HPASimulationOut"];
export type Recommendation = Schemas["RecommendationOut"];
/** GET /api/v1/capabilities: what this backend allows. */
export type Capabilities = Schemas["Capabilities"];
export type Anomaly = Schemas["AnomalyOut"];
export type EventOut = Schemas["EventOut"];
export type ServiceDetail = Schemas["ServiceDetail"];
export type WorkloadSummary = Schemas["WorkloadSummary"];
export type WorkloadDetail = Schemas["WorkloadDetail"];
export type PathHop = Schemas["PathHop"];
export type PathBranch = Schemas["PathBranch"];
export type RequestPath = Schemas["RequestPath"];
export type ProxyRule = Schemas["ProxyRuleOut"];
export type PathEndpoint = Schemas["PathEndpoint"];
export type ServicePath = Schemas["ServicePath"];
export type SeriesPoint = Schemas["SeriesPoint"];
export type TimeSeries = Schemas["TimeSeries"];
export type DiffLine = Schemas["DiffLine"];
export type DryRunResult = Schemas["DryRunResult"];
export type ChangeRecord = Schemas["ChangeRecord"];
export type PodUsage = Schemas["PodUsage"];
export type ServiceUsage = Schemas["ServiceUsage"];
export type MetricsData = Schemas["MetricsData"];

export type Topic = Schemas["SubscribeOp"]["topics"][number];
export type SnapshotMessage = Schemas["SnapshotMessage"];
export type DeltaMessage = Schemas["DeltaMessage"];
export type MetricsMessage = Schemas["MetricsMessage"];
export type RecommendationsMessage = Schemas["RecommendationsMessage"];
export type AnomaliesMessage = Schemas["AnomaliesMessage"];
/** What the server sends on /ws (every message carries `epoch` and `seq`). */
export type ServerMessage = Schemas["ServerMessage"];

/** kube-proxy's rules for a Service or a node (GET …/rules). */
export type RulesOut = Schemas["RulesOut"];
/** NetworkPolicy reachability to a Service's backends (GET …/reachability). */
export type ReachabilityOut = Schemas["ReachabilityOut"];
