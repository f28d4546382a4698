package functions

import (
	"net/http"

	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
)

// createdConnection is the answer of a registration: the environments
// come as views, so one that failed validation says so (status
// unreachable, with the reason and the fix).
type createdConnection struct {
	Connection   *connections.Connection `json:"connection"`
	Environments []environmentView       `json:"environments"`
	Validation   *connections.Validation `json:"validation"`
}

// registeredViews re-reads envs (validation recorded its results on them)
// and returns their views.
func (a *App) registeredViews(r *http.Request, envs []connections.Environment) []environmentView {
	out := []environmentView{}
	for _, e := range envs {
		if cur, err := a.connections.Environment(r.Context(), e.ID); err == nil {
			e = *cur
		}
		out = append(out, a.view(e, nil))
	}
	return out
}

func (a *App) listConnections(w http.ResponseWriter, r *http.Request) error {
	cs, err := a.connections.List(r.Context())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []connections.Connection{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": cs})
	return nil
}

func (a *App) createConnection(w http.ResponseWriter, r *http.Request) error {
	var in connections.NewConnection
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, envs, v, err := a.connections.Create(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/connections/"+c.ID)
	writeJSON(w, http.StatusCreated, createdConnection{Connection: c, Environments: a.registeredViews(r, envs), Validation: v})
	return nil
}

func (a *App) getConnection(w http.ResponseWriter, r *http.Request) error {
	c, err := a.connections.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	envs, err := a.connections.Environments(r.Context(), c.ID)
	if err != nil {
		return err
	}
	if envs == nil {
		envs = []connections.Environment{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"connection": c, "environments": envs})
	return nil
}

func (a *App) deleteConnection(w http.ResponseWriter, r *http.Request) error {
	if err := a.connections.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *App) validateConnection(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connections.Validate(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type rotateRequest struct {
	IdentityID string `json:"identityId"`
	connections.SecretInput
}

func (a *App) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	var in rotateRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.IdentityID == "" {
		return bad("identityId", "required: the id of the identity whose secret is replaced (e.g. id1)")
	}
	v, err := a.connections.Rotate(r.Context(), r.PathValue("id"), in.IdentityID, in.SecretInput)
	if err != nil {
		return err
	}
	if !v.OK {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Validation: v,
			Detail: "the new secret did not validate; the old one is kept (see validation)"}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type moveRequest struct {
	EnvironmentIDs []string `json:"environmentIds"`
}

func (a *App) moveEnvironments(w http.ResponseWriter, r *http.Request) error {
	var in moveRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	res, err := a.connections.Move(r.Context(), r.PathValue("id"), in.EnvironmentIDs)
	if err != nil {
		return err
	}
	if !res.Validation.OK {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Validation: res.Validation,
			Detail: "the connection does not validate against every environment; nothing was moved (see validation)"}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *App) addIdentity(w http.ResponseWriter, r *http.Request) error {
	var in connections.NewIdentity
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, v, err := a.connections.AddIdentity(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	if !v.OK {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Validation: v,
			Detail: "the identity did not validate against the connection's environments; it was not added (see validation)"}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"connection": c, "validation": v})
	return nil
}

func (a *App) removeIdentity(w http.ResponseWriter, r *http.Request) error {
	c, err := a.connections.RemoveIdentity(r.Context(), r.PathValue("id"), r.PathValue("identityId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

type addEnvironmentsRequest struct {
	URLs []string `json:"urls"`
}

func (a *App) addEnvironments(w http.ResponseWriter, r *http.Request) error {
	var in addEnvironmentsRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	envs, v, err := a.connections.AddEnvironments(r.Context(), r.PathValue("id"), in.URLs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"environments": a.registeredViews(r, envs), "validation": v})
	return nil
}
