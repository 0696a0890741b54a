/// `GET /api/customers/{id}`: a customer's profile, from the store.
struct CustomerRoutes {
    let store: any TicketStore

    var routes: [Route] {
        [
            Route("GET", "/api/customers/{id}", access: .read) { _, parameters in
                guard let profile = try store.customer(id: parameters.id) else { throw HTTPError.notFound("Customer not found") }
                return .json(MessageJSON.customer(profile))
            },
        ]
    }
}
