/// `GET /api/customers/{id}`: a customer's profile.
enum CustomerRoutes {
    static func routes(_ context: APIContext) -> [Route] {
        [
            Route("GET", "/api/customers/{id}") { _, parameters throws(HTTPError) in
                guard let profile = try context.stored({ () throws(StoreError) in try context.store.customer(id: parameters.id) }) else {
                    throw .notFound("Customer not found")
                }
                return .json(MessageJSON.customer(profile))
            },
        ]
    }
}
