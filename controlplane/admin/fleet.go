package admin

import (
	"net/http"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func (a *API) clusters(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.Clusters(r.Context())
	if err != nil {
		a.fail(w, http.StatusInternalServerError, codeInternal, err)
		return
	}
	if list == nil {
		list = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"clusters": list})
}

func (a *API) nodes(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.Nodes(r.Context(), r.PathValue("cluster"))
	if err != nil {
		a.storeError(w, r, r.PathValue("cluster"), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": protoList(list)})
}

func (a *API) node(w http.ResponseWriter, r *http.Request) {
	n, err := a.store.Node(r.Context(), r.PathValue("cluster"), r.PathValue("node"))
	if err != nil {
		a.storeError(w, r, r.PathValue("cluster"), err)
		return
	}
	writeJSON(w, http.StatusOK, protoJSON{n})
}

// statusResult summarizes a cluster's fleet.
type statusResult struct {
	Cluster        string       `json:"cluster"`
	CurrentVersion uint64       `json:"current_version"`
	Nodes          nodeCounts   `json:"nodes"`
	Nacks          []nackResult `json:"nacks"`
}

// nodeCounts counts nodes by state.
type nodeCounts struct {
	Total        int `json:"total"`
	Synced       int `json:"synced"`
	Pending      int `json:"pending"`
	Nacked       int `json:"nacked"`
	Disconnected int `json:"disconnected"`
}

// nackResult is a node that rejected the current version (or a newer one)
// and why.
type nackResult struct {
	Node    string `json:"node"`
	Version uint64 `json:"version"`
	Error   string `json:"error"`
}

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	cluster := r.PathValue("cluster")
	list, err := a.store.Nodes(r.Context(), cluster)
	if err != nil {
		a.storeError(w, r, cluster, err)
		return
	}
	versions, err := a.store.Versions(r.Context(), cluster, 1)
	if err != nil {
		a.storeError(w, r, cluster, err)
		return
	}
	res := statusResult{Cluster: cluster, Nacks: []nackResult{}}
	if len(versions) > 0 {
		res.CurrentVersion = versions[0].GetVersion()
	}
	for _, n := range list {
		res.Nodes.Total++
		switch n.GetState() {
		case pb.NodeState_NODE_STATE_SYNCED:
			res.Nodes.Synced++
		case pb.NodeState_NODE_STATE_NACKED:
			res.Nodes.Nacked++
			res.Nacks = append(res.Nacks, nackResult{
				Node: n.GetNode().GetId(), Version: n.GetLastNack().GetVersion(), Error: n.GetLastNack().GetError(),
			})
		case pb.NodeState_NODE_STATE_DISCONNECTED:
			res.Nodes.Disconnected++
		default:
			res.Nodes.Pending++
		}
	}
	writeJSON(w, http.StatusOK, res)
}
