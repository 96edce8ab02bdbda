package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/apikey"
)

// ErrKeyChanged means a key was revoked, rotated or given another expiry
// between reading it and changing it; nothing was changed.
var ErrKeyChanged = errors.New("the key changed since it was read (another operator revoked, rotated or expired it)")

// RotationError is a rotation that failed half way: the old key is marked
// rotated and ends at End, but the new key was not stored, and undoing the
// mark failed too. No key that was not printed works.
type RotationError struct {
	Old, New string // hash prefixes
	End      time.Time
	Err      error
}

func (e *RotationError) Error() string {
	return fmt.Sprintf("key %s is marked rotated to %s and ends at %s, but %s was not stored (%v) and the mark could not be undone; "+
		"no new key works. Undo it with: cdmctl keys rotate --undo --hash %s",
		e.Old, e.New, e.End.UTC().Format(time.RFC3339), e.New, e.Err, e.Old)
}

func (e *RotationError) Unwrap() error { return e.Err }

// APIKey returns the key stored under hash (one consistent read),
// apikey.ErrNotFound when there is none, a *StorageError when DynamoDB
// failed.
func (a *Admin) APIKey(ctx context.Context, hash string) (apikey.Record, error) {
	return readKey(ctx, a.db, aws.String(a.keys), hash, aws.Bool(true))
}

// RotateAPIKey replaces old with next, old working until end. First one
// conditional update marks old rotated to next and sets its expiry to end,
// provided old is still active, not rotated, and expires as read: of
// rotations of one key at once exactly one gets past it, the others return
// ErrKeyChanged having changed nothing. Then next is stored. When that
// fails, the mark is undone and the error returned; when the undo fails
// too, a *RotationError says what state the keys are in. So no key works
// that the caller did not get back as stored.
func (a *Admin) RotateAPIKey(ctx context.Context, old, next apikey.Record, end time.Time) error {
	cond := "attribute_exists(#h) AND #s = :active AND attribute_not_exists(#r) AND attribute_not_exists(#e)"
	set := "SET #e = :end, #r = :next"
	values := map[string]types.AttributeValue{
		":active": &types.AttributeValueMemberS{Value: apikey.StatusActive},
		":end":    unixSeconds(end),
		":next":   &types.AttributeValueMemberS{Value: next.Hash},
	}
	names := map[string]string{"#h": attrKeyHash, "#s": attrStatus, "#r": attrRotatedTo, "#e": attrExpiresAt}
	if !old.ExpiresAt.IsZero() {
		cond = "attribute_exists(#h) AND #s = :active AND attribute_not_exists(#r) AND #e = :was"
		set += ", #w = :was"
		values[":was"] = unixSeconds(old.ExpiresAt)
		names["#w"] = attrWasExpiry
	}
	_, err := a.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(a.keys),
		Key:                       keyOf(old.Hash),
		UpdateExpression:          aws.String(set),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return ErrKeyChanged
	}
	if err != nil {
		return storageError("UpdateItem", a.keys, err)
	}
	if err := a.PutAPIKey(ctx, next); err != nil {
		if undoErr := a.undoRotation(ctx, old.Hash, next.Hash); undoErr != nil {
			return &RotationError{Old: apikey.HashPrefix(old.Hash), New: apikey.HashPrefix(next.Hash), End: end, Err: err}
		}
		return fmt.Errorf("new key %s not stored (%w); key %s is as it was", apikey.HashPrefix(next.Hash), err, apikey.HashPrefix(old.Hash))
	}
	return nil
}

// UndoRotation takes back a rotation of the key with hash oldHash whose new
// key was never stored: the old key gets its expiry back and can be rotated
// again. It returns ErrKeyChanged when the key is not marked rotated, and
// an error when the key it names is stored (that rotation completed).
func (a *Admin) UndoRotation(ctx context.Context, oldHash string) error {
	old, err := a.APIKey(ctx, oldHash)
	if err != nil {
		return err
	}
	if old.RotatedTo == "" {
		return fmt.Errorf("key %s is not rotated: %w", apikey.HashPrefix(oldHash), ErrKeyChanged)
	}
	switch _, err := a.APIKey(ctx, old.RotatedTo); {
	case err == nil:
		return fmt.Errorf("key %s was rotated to %s, which is stored: the rotation completed; end key %s with keys revoke or keys expire instead",
			apikey.HashPrefix(oldHash), apikey.HashPrefix(old.RotatedTo), apikey.HashPrefix(old.RotatedTo))
	case !errors.Is(err, apikey.ErrNotFound):
		return err
	}
	return a.undoRotation(ctx, oldHash, old.RotatedTo)
}

func (a *Admin) undoRotation(ctx context.Context, oldHash, nextHash string) error {
	// The expiry the key had is kept beside the mark, absent when it had
	// none; an update expression cannot choose, so each case is tried.
	for _, undo := range []struct{ update, cond string }{
		{"REMOVE #r, #w, #e", "#r = :next AND attribute_not_exists(#w)"},
		{"SET #e = #w REMOVE #r, #w", "#r = :next AND attribute_exists(#w)"},
	} {
		_, err := a.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(a.keys),
			Key:                       keyOf(oldHash),
			UpdateExpression:          aws.String(undo.update),
			ConditionExpression:       aws.String(undo.cond),
			ExpressionAttributeNames:  map[string]string{"#r": attrRotatedTo, "#w": attrWasExpiry, "#e": attrExpiresAt},
			ExpressionAttributeValues: map[string]types.AttributeValue{":next": &types.AttributeValueMemberS{Value: nextHash}},
		})
		var failed *types.ConditionalCheckFailedException
		if !errors.As(err, &failed) {
			if err != nil {
				return storageError("UpdateItem", a.keys, err)
			}
			return nil
		}
	}
	return ErrKeyChanged
}

func keyOf(hash string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrKeyHash: &types.AttributeValueMemberS{Value: hash}}
}

func unixSeconds(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}
