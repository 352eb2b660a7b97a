package tenant

import authzv1 "k8s.io/api/authorization/v1"

var authzReview = authzv1.SelfSubjectAccessReview{Status: authzv1.SubjectAccessReviewStatus{Allowed: false}}
