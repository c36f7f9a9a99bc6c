package secrets

import "context"

// Sealed is one stored sealed value.
type Sealed struct {
	// ID identifies the row for Update; AAD is what it was sealed with.
	ID    string
	AAD   []byte
	Value string
}

// Rotatable is a store of sealed values that Rotate can re-seal: each
// owner of encrypted columns (tokens, integration credentials) implements
// it. Update must only replace Value when it still equals old, so a value
// changed concurrently is not overwritten.
type Rotatable interface {
	// Name says what is stored, for reports ("integration tokens").
	Name() string
	SealedScan(ctx context.Context, fn func(Sealed) error) error
	SealedUpdate(ctx context.Context, id, old, new string) error
}

// RotateReport counts what Rotate did per store.
type RotateReport struct {
	Store             string
	Resealed, Skipped int
}

// Rotate re-seals under the current key every value sealed with an older
// one. It runs while Atrium serves: both keys open values during the run.
func Rotate(ctx context.Context, b *Box, stores []Rotatable) ([]RotateReport, error) {
	var out []RotateReport
	for _, s := range stores {
		rep := RotateReport{Store: s.Name()}
		err := s.SealedScan(ctx, func(v Sealed) error {
			if !b.NeedsRotation(v.Value) {
				rep.Skipped++
				return nil
			}
			nv, err := b.Reseal(v.Value, v.AAD)
			if err != nil {
				return err
			}
			if err := s.SealedUpdate(ctx, v.ID, v.Value, nv); err != nil {
				return err
			}
			rep.Resealed++
			return nil
		})
		out = append(out, rep)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
